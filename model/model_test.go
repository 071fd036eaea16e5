package model

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestRegistration_Fields(t *testing.T) {
	r := Registration{Name: "李灿辉", Gender: "F", BirthDate: "1949-12-31", IDNumber: "11010519491231002X", Channel: "door", Ref: "x-1"}
	f := r.Fields()
	if string(f["name"]) != `"李灿辉"` || string(f["id_number"]) != `"11010519491231002X"` {
		t.Errorf("Fields() = %s", f)
	}
	if _, ok := f["phone"]; ok {
		t.Error("empty phone present in Fields()")
	}
	back, err := RegistrationFromFields(f)
	if err != nil || back != r {
		t.Errorf("round trip = %+v, %v", back, err)
	}
	if _, err := RegistrationFromFields(map[string]json.RawMessage{"name": json.RawMessage(`12`)}); err == nil {
		t.Error("number as name: want error")
	}
	back, err = RegistrationFromFields(map[string]json.RawMessage{"name": json.RawMessage(`null`), "extra": json.RawMessage(`1`)})
	if err != nil || back != (Registration{}) {
		t.Errorf("null/extra = %+v, %v", back, err)
	}
}

// The JSON tags and the field table must agree: other engineers rely on the keys.
func TestKeys_MatchJSONTags(t *testing.T) {
	for typ, v := range map[string]any{TypeRegistration: Registration{}, TypeMigrantContact: MigrantContact{}} {
		rt := reflect.TypeOf(v)
		var tags []string
		for i := range rt.NumField() {
			tags = append(tags, rt.Field(i).Tag.Get("json"))
		}
		if got := Keys(typ); !slices.Equal(got, tags) {
			t.Errorf("Keys(%s) = %v, json tags %v", typ, got, tags)
		}
	}
	want := []string{"name", "gender", "birth_date", "id_number", "household_address", "residence_address", "phone", "voter_group", "channel", "status", "addition_reason", "removal_reason", "removal_detail", "category", "category_note", "registrar", "device", "ref"}
	if !slices.Equal(Keys(TypeRegistration), want) {
		t.Errorf("registration keys = %v", Keys(TypeRegistration))
	}
	want = []string{"registration_id", "date", "channel", "reached", "outcome", "elsewhere", "proxy_name", "proxy_id_number", "evidence", "note"}
	if !slices.Equal(Keys(TypeMigrantContact), want) {
		t.Errorf("migrant_contact keys = %v", Keys(TypeMigrantContact))
	}
}

func TestMigrantContact_Fields(t *testing.T) {
	c := MigrantContact{RegistrationID: "r1", Date: "2026-03-01", Channel: "phone", Outcome: "proxy", ProxyName: "王雄", Evidence: "heard"}
	back, err := MigrantContactFromFields(c.Fields())
	if err != nil || back != c {
		t.Errorf("round trip = %+v, %v", back, err)
	}
}

func TestEnum_Label(t *testing.T) {
	zh, en, ok := RegistrationChannels.Label("door")
	if !ok || zh != "上门登记" || en != "Door to door" {
		t.Errorf("Label(door) = %q %q %v", zh, en, ok)
	}
	if _, _, ok := Statuses.Label("gone"); ok {
		t.Error("Label(gone) ok")
	}
	for _, e := range []Enum{Genders, RegistrationChannels, Statuses, AdditionReasons, RemovalReasons, Categories, ContactChannels, ContactOutcomes, Evidences, DistrictKinds} {
		seen := map[string]bool{}
		for _, v := range e.Values {
			if v.Code == "" || v.Zh == "" || v.En == "" || seen[v.Code] {
				t.Errorf("%s: bad value %+v", e.Field, v)
			}
			seen[v.Code] = true
		}
	}
}

func TestMessages_Complete(t *testing.T) {
	for code, msg := range messages {
		if code == "" || msg == "" {
			t.Errorf("message for %q empty", code)
		}
	}
}

func TestOfAge(t *testing.T) {
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, tt := range []struct {
		birth, election string
		want            bool
	}{
		{"2008-03-15", "2026-03-15", true}, // 18th birthday is election day
		{"2008-03-16", "2026-03-15", false},
		{"2008-03-14", "2026-03-15", true},
		{"2008-02-29", "2026-02-28", false}, // leap-day birthday, common year
		{"2008-02-29", "2026-03-01", true},
		{"2008-02-29", "2028-02-29", true},
		{"2010-02-28", "2028-02-28", true},
		{"2010-02-28", "2028-02-27", false},
	} {
		if got := OfAge(day(tt.birth), day(tt.election)); got != tt.want {
			t.Errorf("OfAge(%s, %s) = %v, want %v", tt.birth, tt.election, got, tt.want)
		}
	}
	// Time of day and zone do not matter, only the calendar date.
	cst := time.FixedZone("CST", 8*3600)
	if !OfAge(time.Date(2008, 3, 15, 23, 0, 0, 0, cst), time.Date(2026, 3, 15, 1, 0, 0, 0, cst)) {
		t.Error("OfAge with times of day: want true")
	}
}
