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
	known := keys(typ)
	if known == nil {
		rep.errorf("", CodeUnknownType)
		return rep
	}
	if district == "" {
		rep.errorf("district", CodeRequired)
	}
	v := readValues(typ, known, fields, &rep)
	switch typ {
	case TypeRegistration:
		validateRegistration(v, rules, &rep)
	case TypeMigrantContact:
		validateMigrantContact(v, &rep)
	}
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

// readValues decodes the known fields and reports unknown keys, non-string
// values and values Normalize would change.
func readValues(typ string, keys []string, fields iter.Seq2[string, json.RawMessage], rep *Report) values {
	v := values{keys: keys, vals: make([]string, len(keys))}
	var unknown []string
	for k, raw := range fields {
		i := slices.Index(keys, k)
		if i < 0 {
			unknown = append(unknown, k)
			continue
		}
		s, ok := stringValue(raw)
		if !ok {
			rep.errorf(k, CodeFieldType)
			continue
		}
		v.vals[i] = s
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		rep.warnf(k, CodeUnknownField)
	}
	for i, k := range keys {
		if s := v.vals[i]; s != "" && normalizeValue(typ, k, s) != s {
			rep.warnf(k, CodeNotNormalized)
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

func (v values) enum(rep *Report, enums ...Enum) {
	for _, e := range enums {
		if s := v.get(e.Field); s != "" && !e.Has(s) {
			rep.errorf(e.Field, CodeEnumValue)
		}
	}
}

// date returns the field as a date; it reports date_format if it is set
// but not a canonical date.
func (v values) date(rep *Report, key string) (time.Time, bool) {
	s := v.get(key)
	if s == "" {
		return time.Time{}, false
	}
	t, ok := parseDate(s)
	if !ok {
		if d, ok2 := normalizeDate(s); ok2 {
			t, ok = parseDate(d) // tolerated, already warned as not_normalized
		}
	}
	if !ok {
		rep.errorf(key, CodeDateFormat)
	}
	return t, ok
}

// id parses the ID number in key and checks its region; ok is false if
// the field is empty or invalid.
func (v values) id(rep *Report, key string) (idcard.ID, bool) {
	s := v.get(key)
	if s == "" {
		return idcard.ID{}, false
	}
	id, err := idcard.Parse(s)
	if err == nil {
		var current bool
		current, err = idcard.CheckRegion(id)
		if err == nil && !current {
			rep.warnf(key, CodeIDRegionRetired)
		}
	}
	var e *idcard.Error
	if errors.As(err, &e) {
		rep.errorf(key, e.Code)
		return idcard.ID{}, false
	}
	return id, true
}

func validateRegistration(v values, rules Rules, rep *Report) {
	v.required(rep, "name", "gender", "birth_date", "id_number")
	v.enum(rep, Genders, RegistrationChannels, Statuses, AdditionReasons, RemovalReasons, Categories)
	birth, birthOK := v.date(rep, "birth_date")
	id, idOK := v.id(rep, "id_number")
	if idOK && birthOK && !id.Birth.Equal(birth) {
		rep.errorf("birth_date", CodeBirthDateMismatch)
	}
	if g := v.get("gender"); idOK && Genders.Has(g) && (g == "M") != id.Male {
		rep.errorf("gender", CodeGenderMismatch)
	}
	if v.get("status") == "removed" && v.get("removal_reason") == "" {
		rep.errorf("removal_reason", CodeRemovalReasonRequired)
	}
	if !birthOK && idOK {
		birth, birthOK = id.Birth, true
	}
	if birthOK && v.get("status") != "removed" && !rules.ElectionDay.IsZero() && !OfAge(birth, rules.ElectionDay) {
		rep.errorf("birth_date", CodeUnderAge)
	}
	if p := v.get("phone"); p != "" {
		if _, ok := normalizePhone(p); !ok {
			rep.errorf("phone", CodePhoneFormat)
		}
	}
}

func validateMigrantContact(v values, rep *Report) {
	v.required(rep, "registration_id", "date", "channel", "outcome", "evidence")
	v.enum(rep, ContactChannels, ContactOutcomes, Evidences)
	v.date(rep, "date")
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
