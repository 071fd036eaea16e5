package model

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dengji/dengji/model/idcard"
)

// idFor builds a valid ID number for region 110105 (朝阳区), birth date
// YYYYMMDD and sequence digits (odd last digit: male).
func idFor(t *testing.T, region, birth, seq string) string {
	t.Helper()
	c, ok := idcard.CheckDigit(region + birth + seq)
	if !ok {
		t.Fatalf("bad ID parts %s %s %s", region, birth, seq)
	}
	return region + birth + seq + string(c)
}

func fieldsOf(kv map[string]any) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for k, v := range kv {
		b, _ := json.Marshal(v)
		out[k] = b
	}
	return out
}

// codes lists a report's issues as "E field code" / "W field code".
func codes(r Report) []string {
	var out []string
	for _, i := range r.Errors {
		out = append(out, fmt.Sprintf("E %s %s", i.Field, i.Code))
	}
	for _, i := range r.Warnings {
		out = append(out, fmt.Sprintf("W %s %s", i.Field, i.Code))
	}
	slices.Sort(out)
	return out
}

// d1 is a village of 芙蓉区 (430102) by its statistical code.
const d1 = "430102001001"

var election = Rules{ElectionDay: time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)}

func TestValidate_Registration(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{
			"name": "黄金", "gender": "F", "birth_date": "1949-12-31", "id_number": "11010519491231002X",
			"channel": "door", "status": "registered", "phone": "13800138000",
		}
	}
	with := func(kv ...any) map[string]any {
		m := base()
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return m
	}
	male2008 := idFor(t, "110105", "20080315", "001")
	leap := idFor(t, "110105", "20080229", "002")
	for _, tt := range []struct {
		name     string
		district string
		fields   map[string]any
		rules    Rules
		want     []string
		status   IDStatus
	}{
		{"OK", d1, base(), election, nil, IDVerified},
		{"OK/minimal", d1, with("channel", nil, "status", nil, "phone", nil), election, nil, IDVerified},
		{"OK/gender and birth from the ID", d1, with("gender", nil, "birth_date", nil), election, nil, IDVerified},
		{"ErrDistrict", "", base(), election, []string{"E district required"}, IDVerified},
		{"ErrDistrictUnknown", "999999001", base(), election, []string{"E district district_unknown"}, IDVerified},
		{"ErrDistrictUnknown/too short", "430102", base(), election, []string{"E district district_unknown"}, IDVerified},
		{"ErrRequired", d1, map[string]any{}, election,
			[]string{"E id_number identity_required", "E name required", "W gender gender_unknown", "W id_number id_missing"}, IDMissing},
		{"ErrRequired/empty name", d1, with("name", ""), election, []string{"E name required"}, IDVerified},
		{"ErrFieldType", d1, with("name", 5), election, []string{"E name field_type"}, IDVerified},
		{"ErrTooLong", d1, with("household_address", strings.Repeat("长", 201)), election, []string{"E household_address too_long"}, IDVerified},
		{"ErrUnknownField", d1, with("shoe_size", "42"), election, []string{"E shoe_size unknown_field"}, IDVerified},
		{"WarnIDMissing", d1, with("id_number", nil), election, []string{"W id_number id_missing"}, IDMissing},
		{"WarnIDMissing/no gender", d1, with("id_number", nil, "gender", nil), election,
			[]string{"W gender gender_unknown", "W id_number id_missing"}, IDMissing},
		{"ErrIdentity/neither ID nor birth date", d1, with("id_number", nil, "birth_date", nil), election,
			[]string{"E id_number identity_required", "W id_number id_missing"}, IDMissing},
		{"WarnIDChecksum", d1, with("id_number", "110105194912310021"), election, []string{"W id_number id_checksum"}, IDDoubtful},
		{"WarnIDChecksum/no birth date", d1, with("id_number", "110105194912310021", "birth_date", nil), election,
			[]string{"W id_number id_checksum"}, IDDoubtful},
		{"WarnIDLength", d1, with("id_number", "1101051949"), election, []string{"W id_number id_length"}, IDDoubtful},
		{"WarnIDFormat", d1, with("id_number", "11010519491231002A"), election, []string{"W id_number id_format"}, IDDoubtful},
		{"WarnIDBirthDate", d1, with("id_number", idFor(t, "110105", "19490231", "002")), election, []string{"W id_number id_birth_date"}, IDDoubtful},
		{"WarnIDRegionUnknown", d1, with("id_number", idFor(t, "999999", "19491231", "002")), election, []string{"W id_number id_region_unknown"}, IDDoubtful},
		{"WarnIDRegionRetired", d1, with("id_number", idFor(t, "110104", "19491231", "002")), election, []string{"W id_number id_region_retired"}, IDVerified},
		{"WarnIDRegionRetiredBeforeBirth", d1, with("id_number", idFor(t, "110104", "20150101", "002"), "birth_date", "2015-01-01"), Rules{},
			[]string{"W id_number id_region_unknown"}, IDDoubtful},
		{"WarnLegacyID", d1, with("id_number", "110105491231002"), election, []string{"W id_number not_normalized"}, IDVerified},
		{"WarnBirthDateMismatch", d1, with("birth_date", "1949-12-30"), election, []string{"W birth_date birth_date_mismatch"}, IDDoubtful},
		// 1949-12-31 is the third day of the eleventh lunar month of 1949.
		{"WarnBirthDateLunar", d1, with("birth_date", "1949-11-12"), election, []string{"W birth_date birth_date_lunar"}, IDDoubtful},
		{"WarnDateFormat/with an ID", d1, with("birth_date", "1949-13-31"), election, []string{"W birth_date date_format"}, IDDoubtful},
		{"ErrDateFormat/without an ID", d1, with("birth_date", "1949-13-31", "id_number", nil), election,
			[]string{"E birth_date date_format", "W id_number id_missing"}, IDMissing},
		{"WarnGenderMismatch", d1, with("gender", "M"), election, []string{"W gender gender_mismatch"}, IDDoubtful},
		{"ErrGenderEnum", d1, with("gender", "X"), election, []string{"E gender enum_value"}, IDVerified},
		{"OK/gender unknown written out", d1, with("gender", "未知"), election, []string{"W gender not_normalized"}, IDVerified},
		{"OK/18th birthday is election day", d1, with("gender", "M", "birth_date", "2008-03-15", "id_number", male2008), election, nil, IDVerified},
		{"ErrUnderAge/day before", d1, with("gender", "M", "birth_date", "2008-03-16", "id_number", idFor(t, "110105", "20080316", "001")), election,
			[]string{"E birth_date under_age"}, IDVerified},
		{"ErrUnderAge/stated date without an ID", d1, with("gender", "M", "birth_date", "2008-03-16", "id_number", nil), election,
			[]string{"E birth_date under_age", "W id_number id_missing"}, IDMissing},
		{"ErrUnderAge/the ID's date wins", d1, with("gender", "M", "birth_date", "1990-03-16", "id_number", idFor(t, "110105", "20080316", "001")), election,
			[]string{"E birth_date under_age", "W birth_date birth_date_mismatch"}, IDDoubtful},
		{"ErrUnderAge/date inside a mistyped ID", d1, with("gender", "M", "birth_date", nil, "id_number", "110105200803160010"), election,
			[]string{"E birth_date under_age", "W id_number id_checksum"}, IDDoubtful},
		{"OK/no election day", d1, with("gender", "M", "birth_date", "2008-03-16", "id_number", idFor(t, "110105", "20080316", "001")), Rules{}, nil, IDVerified},
		{"ErrUnderAge/leap day", d1, with("birth_date", "2008-02-29", "id_number", leap), Rules{ElectionDay: time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC)},
			[]string{"E birth_date under_age"}, IDVerified},
		{"OK/leap day", d1, with("birth_date", "2008-02-29", "id_number", leap), Rules{ElectionDay: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}, nil, IDVerified},
		{"OK/removed minor not age-checked", d1, with("gender", "M", "birth_date", "2008-03-16", "id_number", idFor(t, "110105", "20080316", "001"), "status", "removed", "removal_reason", "moved_out"), election, nil, IDVerified},
		{"ErrRemovalReason", d1, with("status", "removed"), election, []string{"E removal_reason removal_reason_required"}, IDVerified},
		{"ErrEnums", d1, with("channel", "post", "status", "gone", "addition_reason", "born", "removal_reason", "x", "category", "bad"), election,
			[]string{"E addition_reason enum_value", "E category enum_value", "E channel enum_value", "E removal_reason enum_value", "E status enum_value"}, IDVerified},
		{"OK/category", d1, with("category", "whereabouts_unknown", "addition_reason", "moved_in"), election, nil, IDVerified},
		{"WarnPhone/invalid", d1, with("phone", "12345"), election, []string{"W phone phone_format"}, IDVerified},
		{"WarnPhone", d1, with("phone", "+86 138-0013-8000"), election, []string{"W phone not_normalized"}, IDVerified},
		{"OK/landline", d1, with("phone", "0731-84567890"), election, nil, IDVerified},
		{"OK/work-unit district", "4301029001", base(), election, nil, IDVerified},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep := Validate(TypeRegistration, tt.district, fieldsOf(tt.fields), tt.rules)
			if got := codes(rep); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if rep.IDStatus != tt.status {
				t.Errorf("IDStatus = %q, want %q", rep.IDStatus, tt.status)
			}
			if rep.NeedsVerification() != (tt.status != IDVerified) || (len(rep.Reasons()) > 0) != (tt.status == IDDoubtful || tt.status == IDMissing) {
				t.Errorf("NeedsVerification = %v, reasons %v, for status %s", rep.NeedsVerification(), rep.Reasons(), tt.status)
			}
		})
	}
}

// A later edit that supplies a valid ID number clears the verification.
func TestValidate_EditClearsVerification(t *testing.T) {
	f := fieldsOf(map[string]any{"name": "黄金", "gender": "F", "birth_date": "1949-12-31"})
	if rep := Validate(TypeRegistration, d1, f, election); !rep.OK() || rep.IDStatus != IDMissing {
		t.Fatalf("without ID: %+v", rep)
	}
	f["id_number"] = json.RawMessage(`"11010519491231002X"`)
	if rep := Validate(TypeRegistration, d1, f, election); !rep.OK() || rep.NeedsVerification() || len(rep.Warnings) > 0 {
		t.Fatalf("with a valid ID: %+v", rep)
	}
}

func TestDistrictCode(t *testing.T) {
	for code, want := range map[string]bool{
		"430102001001": true, "430102001901": true, "4301029001": true, "430102-W01": true,
		"430102": false, "999999001001": false, "43010a001001": false, "430102 001": false, "": false,
		"430102" + strings.Repeat("1", 19): false,
	} {
		if got := DistrictCodeValid(code); got != want {
			t.Errorf("DistrictCodeValid(%q) = %v", code, got)
		}
	}
	for code, want := range map[string]bool{
		"43": true, "4301": true, "430102": true, "430102001": true, "430102001001": true, "4301029001": true,
		"99": false, "4399": false, "999999": false, "not-a-code": false, "430102\x00": false, "": false, "4": false,
	} {
		if got := ScopeEntryValid(code); got != want {
			t.Errorf("ScopeEntryValid(%q) = %v", code, got)
		}
	}
	if CountyOf("4301029001") != "430102" || TownOf("430102001205") != "430102001" || TownOf("4301029001") != "" {
		t.Error("CountyOf/TownOf")
	}
}

func TestValidate_MigrantContact(t *testing.T) {
	base := map[string]any{"registration_id": "r1", "date": "2026-02-01", "channel": "phone", "outcome": "unreachable", "evidence": "written"}
	with := func(kv ...any) map[string]any {
		m := maps.Clone(base)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	for _, tt := range []struct {
		name   string
		fields map[string]any
		want   []string
	}{
		{"OK", base, nil},
		{"ErrRequired", map[string]any{}, []string{"E channel required", "E date required", "E evidence required", "E outcome required", "E registration_id required"}},
		{"ErrEnums", with("channel", "pigeon", "outcome", "maybe", "evidence", "rumour"), []string{"E channel enum_value", "E evidence enum_value", "E outcome enum_value"}},
		{"ErrDate", with("date", "2026-02-30"), []string{"E date date_format"}},
		{"ErrElsewhere", with("outcome", "registered_elsewhere"), []string{"E elsewhere elsewhere_required"}},
		{"OK/elsewhere", with("outcome", "registered_elsewhere", "elsewhere", "黄花镇"), nil},
		{"ErrProxy", with("outcome", "proxy"), []string{"E proxy_id_number proxy_required", "E proxy_name proxy_required"}},
		{"ErrProxyID", with("outcome", "proxy", "proxy_name", "王雄", "proxy_id_number", "110105194912310021"), []string{"E proxy_id_number id_checksum"}},
		{"OK/proxy", with("outcome", "proxy", "proxy_name", "王雄", "proxy_id_number", "11010519491231002X"), nil},
		{"ErrUnknown", with("registration", "x"), []string{"E registration unknown_field"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := codes(Validate(TypeMigrantContact, d1, fieldsOf(tt.fields), Rules{}))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidate_ErrUnknownType(t *testing.T) {
	rep := Validate("voter_card", d1, nil, Rules{})
	if rep.OK() || rep.Errors[0].Code != CodeUnknownType {
		t.Errorf("got %+v", rep)
	}
	if rep.Errors[0].Message != "未知的记录类型 / unknown record type" {
		t.Errorf("message %q", rep.Errors[0].Message)
	}
}

func TestReport_JSON(t *testing.T) {
	b, _ := json.Marshal(Report{})
	if string(b) != "{}" {
		t.Errorf("empty report = %s", b)
	}
	b, _ = json.Marshal(Validate(TypeMigrantContact, d1, nil, Rules{}))
	var back Report
	if err := json.Unmarshal(b, &back); err != nil || len(back.Errors) != 5 || back.Errors[0].Field == "" {
		t.Errorf("report JSON %s", b)
	}
}

func TestNormalize(t *testing.T) {
	in := fieldsOf(map[string]any{
		"name": "  黄金 ", "gender": "女", "birth_date": "1949/12/31", "id_number": "１１０１０５ ４９１２３１ ００２",
		"phone": "+86 138-0013-8000", "extra": 7, "household_address": "",
	})
	got := Normalize(TypeRegistration, in)
	want := fieldsOf(map[string]any{
		"name": "黄金", "gender": "F", "birth_date": "1949-12-31", "id_number": "11010519491231002X",
		"phone": "13800138000", "extra": 7, "household_address": "",
	})
	if !maps.EqualFunc(got, want, func(a, b json.RawMessage) bool { return string(a) == string(b) }) {
		t.Errorf("Normalize = %s", got)
	}
	if rep := Validate(TypeRegistration, d1, got, election); len(rep.Errors) != 1 || rep.Errors[0].Code != CodeUnknownField || len(rep.Warnings) != 0 {
		t.Errorf("Validate(Normalize) = %+v, want only the extra field refused", rep)
	}
	if string(in["gender"]) != `"女"` {
		t.Error("Normalize modified its input")
	}
	c := Normalize(TypeMigrantContact, fieldsOf(map[string]any{"date": "2026年2月1日", "proxy_id_number": "110105491231002"}))
	if string(c["date"]) != `"2026-02-01"` || string(c["proxy_id_number"]) != `"11010519491231002X"` {
		t.Errorf("Normalize(contact) = %s", c)
	}
}

func TestNormalizeDate(t *testing.T) {
	for in, want := range map[string]string{
		"1990-01-02": "1990-01-02", "1990/1/2": "1990-01-02", "1990.1.2": "1990-01-02", "19900102": "1990-01-02",
		"1990年1月2日": "1990-01-02", "１９９０年０１月０２日": "1990-01-02", " 1990 - 01 - 02 ": "1990-01-02",
		"1990-01-02 00:00:00": "1990-01-02", "1990/1/2 0:00": "1990-01-02", "1990-01-02T00:00:00Z": "1990-01-02",
		"1990-02-30": "", "02/01/1990": "", "": "", "1990": "",
	} {
		got, ok := NormalizeDate(in)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizeDate(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestNormalizePhone(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{"13800138000", "13800138000", true},
		{"138 0013 8000", "13800138000", true},
		{"+8613800138000", "13800138000", true},
		{"86-138-0013-8000", "13800138000", true},
		{"0086 13800138000", "13800138000", true},
		{"１３８００１３８０００", "13800138000", true},
		{"19912345678", "19912345678", true},
		{"12800138000", "", false}, // 12x is not a mobile prefix
		{"1380013800", "", false},
		{"010-12345678", "010-12345678", true},
		{"01012345678", "010-12345678", true},
		{"(0731) 8456 7890", "0731-84567890", true},
		{"07318456789", "0731-8456789", true},
		{"0755-88888888", "0755-88888888", true},
		{"020 3456789", "020-3456789", true},
		{"0731-0456789", "", false},
		{"12345", "", false},
		{"0731-8456789ext2", "", false},
		{"", "", false},
	} {
		got, ok := NormalizePhone(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("normalizePhone(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzValidate(f *testing.F) {
	f.Add("registration", "name", `"x"`, "id_number", `"11010519491231002X"`)
	f.Add("migrant_contact", "date", `"2026-01-01"`, "phone", `12`)
	f.Fuzz(func(t *testing.T, typ, k1, v1, k2, v2 string) {
		fields := map[string]json.RawMessage{k1: json.RawMessage(v1), k2: json.RawMessage(v2)}
		Validate(typ, d1, fields, election)
		Validate(typ, d1, Normalize(typ, fields), election)
	})
}
