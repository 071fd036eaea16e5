package model

import (
	"encoding/json"
	"errors"
	"iter"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/dengji/dengji/model/idcard"
	"github.com/dengji/dengji/model/lunar"
)

// Rules are the election-specific parameters of validation.
type Rules struct {
	ElectionDay time.Time // zero: skip the age check
}

// VotingAge is the age a voter must reach by election day.
const VotingAge = 18

// Validate checks the full field set of a record of type typ in district
// (after a change is applied), the same way on the device and the server.
// Fields should be normalized first (Normalize); values that are not are
// still checked, with a not_normalized warning.
func Validate(typ, district string, fields map[string]json.RawMessage, rules Rules) Report {
	return ValidateSeq(typ, district, maps.All(fields), rules)
}

// ValidateSeq is Validate over fields given as a sequence of key and value,
// so a caller holding them in another shape need not copy them into a map.
func ValidateSeq(typ, district string, fields iter.Seq2[string, json.RawMessage], rules Rules) Report {
	var rep Report
	t := Lookup(typ)
	if t == nil {
		rep.errorf("", CodeUnknownType)
		return rep
	}
	switch {
	case district == "":
		rep.errorf("district", CodeRequired)
	case !DistrictCodeValid(district):
		rep.errorf("district", CodeDistrictUnknown)
	}
	v := readValues(t, fields, &rep)
	t.check(v, rules, &rep)
	return rep
}

// values holds a record's string fields, in the order of its type's keys;
// undecodable fields are empty. A slice beside the keys, not a map: it is
// built for every record the server accepts.
type values struct {
	keys, vals []string
}

func (v values) get(key string) string {
	if i := slices.Index(v.keys, key); i >= 0 {
		return v.vals[i]
	}
	return ""
}

// readValues decodes the known fields and checks what every type's fields
// share: the record contract (contract.go: string values, UTF-8, control
// characters, lengths, unknown keys, the number of keys), enumerations, and
// values Normalize would change.
func readValues(t *Type, fields iter.Seq2[string, json.RawMessage], rep *Report) values {
	v := values{keys: t.keys, vals: make([]string, len(t.keys))}
	var unknown []string
	n := 0
	for k, raw := range fields {
		n++
		i := slices.Index(t.keys, k)
		if i < 0 {
			unknown = append(unknown, k)
			continue
		}
		s, code := fieldValue(t.Fields[i], raw)
		if code != "" {
			rep.errorf(k, code)
			continue
		}
		v.vals[i] = s
	}
	if n > len(t.Fields) {
		rep.errorf("", CodeTooManyFields)
	}
	sort.Strings(unknown)
	for _, k := range unknown[:min(len(unknown), maxUnknownReported)] {
		rep.Errors = append(rep.Errors, unknownFieldIssue(k))
	}
	for i, f := range t.Fields {
		s := v.vals[i]
		if s == "" {
			continue
		}
		if f.Enum != nil && !f.Enum.Has(s) && !(f.Kind == KindGender && NormalizeGender(s) == "") {
			rep.errorf(f.Key, CodeEnumValue)
		}
		if normalizeValue(t, f.Key, s) != s {
			rep.warnf(f.Key, CodeNotNormalized)
		}
	}
	return v
}

func (v values) required(rep *Report, keys ...string) {
	for _, k := range keys {
		if v.get(k) == "" && !rep.hasError(k) {
			rep.errorf(k, CodeRequired)
		}
	}
}

// date returns the field as a date; ok is false if it is empty or not a
// date. A value that is not a date is reported with date_format, as an
// error unless asWarning.
func (v values) date(rep *Report, key string, asWarning bool) (time.Time, bool) {
	s := v.get(key)
	if s == "" {
		return time.Time{}, false
	}
	if d, ok := NormalizeDate(s); ok {
		t, _ := parseDate(d) // tolerated if not canonical, already warned as not_normalized
		return t, true
	}
	if asWarning {
		rep.warnf(key, CodeDateFormat)
	} else {
		rep.errorf(key, CodeDateFormat)
	}
	return time.Time{}, false
}

// parseID parses an ID number and checks its region; code is the reason it
// fails ("" if it is valid), retired that its region no longer exists.
func parseID(s string) (id idcard.ID, code string, retired bool) {
	id, err := idcard.Parse(s)
	if err == nil {
		var current bool
		current, err = idcard.CheckRegion(id)
		retired = err == nil && !current
	}
	var e *idcard.Error
	if errors.As(err, &e) {
		return idcard.ID{}, e.Code, false
	}
	return id, "", retired
}

// id checks the ID number in key, reporting its problems as errors; ok is
// false if the field is empty or invalid. Registrations judge their own ID
// more leniently (validateRegistration).
func (v values) id(rep *Report, key string) (idcard.ID, bool) {
	s := v.get(key)
	if s == "" {
		return idcard.ID{}, false
	}
	id, code, retired := parseID(s)
	if retired {
		rep.warnf(key, CodeIDRegionRetired)
	}
	if code != "" {
		rep.errorf(key, code)
		return idcard.ID{}, false
	}
	return id, true
}

// validateRegistration keeps what a person can fix later: an ID number that
// is missing, fails its checks or disagrees with the stated birth date or
// gender is a warning that sets the ID status (IDStatus) and puts the
// record on the verification list (待核实). It refuses what nobody could act
// on: no name, neither an ID number nor a birth date, under age.
func validateRegistration(v values, rules Rules, rep *Report) {
	v.required(rep, "name")
	rawID := v.get("id_number")
	id, idCode, retired := parseID(rawID)
	idOK := rawID != "" && idCode == ""
	switch {
	case rawID == "" && !rep.hasError("id_number"):
		rep.warnf("id_number", CodeIDMissing)
	case idCode != "":
		rep.warnf("id_number", idCode)
	case retired:
		rep.warnf("id_number", CodeIDRegionRetired)
	}
	birth, birthOK := v.date(rep, "birth_date", rawID != "")
	if rawID == "" && v.get("birth_date") == "" && !rep.hasError("id_number") && !rep.hasError("birth_date") {
		rep.errorf("id_number", CodeIdentityRequired)
	}
	if idOK && birthOK && !id.Birth.Equal(birth) {
		if lunarBirthday(birth, id.Birth) {
			rep.warnf("birth_date", CodeBirthDateLunar)
		} else {
			rep.warnf("birth_date", CodeBirthDateMismatch)
		}
	}
	g := NormalizeGender(v.get("gender"))
	switch {
	case g == "" && !idOK:
		rep.warnf("gender", CodeGenderUnknown)
	case idOK && Genders.Has(g) && (g == "M") != id.Male:
		rep.warnf("gender", CodeGenderMismatch)
	}
	if v.get("status") == "removed" && v.get("removal_reason") == "" {
		rep.errorf("removal_reason", CodeRemovalReasonRequired)
	}
	ageBirth, ageOK := birth, birthOK
	if idOK {
		ageBirth, ageOK = id.Birth, true
	} else if !ageOK {
		ageBirth, ageOK = idcard.EmbeddedBirth(rawID)
	}
	if ageOK && v.get("status") != "removed" && !rules.ElectionDay.IsZero() && !OfAge(ageBirth, rules.ElectionDay) {
		rep.errorf("birth_date", CodeUnderAge)
	}
	if p := v.get("phone"); p != "" {
		if _, ok := NormalizePhone(p); !ok {
			rep.warnf("phone", CodePhoneFormat)
		}
	}
	rep.IDStatus = idStatus(rawID, idOK, rep)
}

// lunarBirthday reports whether stated, read as a lunar date, is the solar
// date solar: the birthday was given by the lunar calendar (农历生日).
func lunarBirthday(stated, solar time.Time) bool {
	y, m, d, ok := lunar.ToSolar(stated.Year(), int(stated.Month()), stated.Day())
	return ok && y == solar.Year() && m == int(solar.Month()) && d == solar.Day()
}

func validateMigrantContact(v values, _ Rules, rep *Report) {
	v.required(rep, "registration_id", "date", "channel", "outcome", "evidence")
	v.date(rep, "date", false)
	switch v.get("outcome") {
	case "registered_elsewhere":
		if v.get("elsewhere") == "" {
			rep.errorf("elsewhere", CodeElsewhereRequired)
		}
	case "proxy":
		if v.get("proxy_name") == "" {
			rep.errorf("proxy_name", CodeProxyRequired)
		}
		if v.get("proxy_id_number") == "" {
			rep.errorf("proxy_id_number", CodeProxyRequired)
		}
	}
	v.id(rep, "proxy_id_number")
}

// OfAge reports whether someone born on birth is at least VotingAge on
// day. The birthday itself counts: someone whose 18th birthday is election
// day may vote. Someone born on 29 February turns 18 on 1 March in a
// common year. Only the calendar dates of birth and day matter.
func OfAge(birth, day time.Time) bool {
	b := time.Date(birth.Year(), birth.Month(), birth.Day(), 0, 0, 0, 0, time.UTC)
	d := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	return !b.AddDate(VotingAge, 0, 0).After(d)
}
