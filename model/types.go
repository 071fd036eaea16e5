package model

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"
)

// Registration is a voter registration (选民登记). Every field is a string
// in its canonical form (see Normalize); empty means absent. The district
// (选区) is not a field: it is the sync envelope's.
type Registration struct {
	Name             string `json:"name"`
	Gender           string `json:"gender"`            // Genders
	BirthDate        string `json:"birth_date"`        // YYYY-MM-DD
	IDNumber         string `json:"id_number"`         // 18 characters, normalized
	HouseholdAddress string `json:"household_address"` // 户籍地址
	ResidenceAddress string `json:"residence_address"` // 现居住地址
	Phone            string `json:"phone"`
	VoterGroup       string `json:"voter_group"`     // 选民小组
	Channel          string `json:"channel"`         // RegistrationChannels
	Status           string `json:"status"`          // Statuses; empty means registered
	AdditionReason   string `json:"addition_reason"` // AdditionReasons
	RemovalReason    string `json:"removal_reason"`  // RemovalReasons
	RemovalDetail    string `json:"removal_detail"`  // e.g. where registered elsewhere
	Category         string `json:"category"`        // Categories (四种人) or empty
	CategoryNote     string `json:"category_note"`
	Registrar        string `json:"registrar"`
	Device           string `json:"device"`
	Ref              string `json:"ref"` // external reference from imports
}

// MigrantContact is one attempt to reach a voter working away (外出人员联系记录).
type MigrantContact struct {
	RegistrationID string `json:"registration_id"` // record ID of the registration
	Date           string `json:"date"`            // YYYY-MM-DD
	Channel        string `json:"channel"`         // ContactChannels
	Reached        string `json:"reached"`         // who was reached
	Outcome        string `json:"outcome"`         // ContactOutcomes
	Elsewhere      string `json:"elsewhere"`       // where, if registered elsewhere
	ProxyName      string `json:"proxy_name"`
	ProxyIDNumber  string `json:"proxy_id_number"`
	Evidence       string `json:"evidence"` // Evidences
	Note           string `json:"note"`
}

// Election is one election round.
type Election struct {
	Name string    `json:"name"`
	Day  time.Time `json:"day"` // election day; age is checked against it
}

// District is an electoral district (选区).
type District struct {
	Code        string   `json:"code"`
	Name        string   `json:"name"`
	Kind        string   `json:"kind"` // DistrictKinds
	Town        string   `json:"town,omitempty"`
	County      string   `json:"county,omitempty"`
	VoterGroups []string `json:"voter_groups,omitempty"`
}

// field binds a JSON key to a string field of T.
type field[T any] struct {
	key string
	ptr func(*T) *string
}

var registrationFields = []field[Registration]{
	{"name", func(r *Registration) *string { return &r.Name }},
	{"gender", func(r *Registration) *string { return &r.Gender }},
	{"birth_date", func(r *Registration) *string { return &r.BirthDate }},
	{"id_number", func(r *Registration) *string { return &r.IDNumber }},
	{"household_address", func(r *Registration) *string { return &r.HouseholdAddress }},
	{"residence_address", func(r *Registration) *string { return &r.ResidenceAddress }},
	{"phone", func(r *Registration) *string { return &r.Phone }},
	{"voter_group", func(r *Registration) *string { return &r.VoterGroup }},
	{"channel", func(r *Registration) *string { return &r.Channel }},
	{"status", func(r *Registration) *string { return &r.Status }},
	{"addition_reason", func(r *Registration) *string { return &r.AdditionReason }},
	{"removal_reason", func(r *Registration) *string { return &r.RemovalReason }},
	{"removal_detail", func(r *Registration) *string { return &r.RemovalDetail }},
	{"category", func(r *Registration) *string { return &r.Category }},
	{"category_note", func(r *Registration) *string { return &r.CategoryNote }},
	{"registrar", func(r *Registration) *string { return &r.Registrar }},
	{"device", func(r *Registration) *string { return &r.Device }},
	{"ref", func(r *Registration) *string { return &r.Ref }},
}

var migrantContactFields = []field[MigrantContact]{
	{"registration_id", func(c *MigrantContact) *string { return &c.RegistrationID }},
	{"date", func(c *MigrantContact) *string { return &c.Date }},
	{"channel", func(c *MigrantContact) *string { return &c.Channel }},
	{"reached", func(c *MigrantContact) *string { return &c.Reached }},
	{"outcome", func(c *MigrantContact) *string { return &c.Outcome }},
	{"elsewhere", func(c *MigrantContact) *string { return &c.Elsewhere }},
	{"proxy_name", func(c *MigrantContact) *string { return &c.ProxyName }},
	{"proxy_id_number", func(c *MigrantContact) *string { return &c.ProxyIDNumber }},
	{"evidence", func(c *MigrantContact) *string { return &c.Evidence }},
	{"note", func(c *MigrantContact) *string { return &c.Note }},
}

// Fields returns r as sync-layer fields. Empty strings are left out.
func (r Registration) Fields() map[string]json.RawMessage { return toFields(&r, registrationFields) }

// RegistrationFromFields reads the known keys of fields into a Registration.
// Unknown keys are ignored (Validate warns about them); a known key whose
// value is not a JSON string or null is an error.
func RegistrationFromFields(fields map[string]json.RawMessage) (Registration, error) {
	var r Registration
	return r, fromFields(&r, registrationFields, fields)
}

// Fields returns c as sync-layer fields. Empty strings are left out.
func (c MigrantContact) Fields() map[string]json.RawMessage {
	return toFields(&c, migrantContactFields)
}

// MigrantContactFromFields is RegistrationFromFields for migrant contacts.
func MigrantContactFromFields(fields map[string]json.RawMessage) (MigrantContact, error) {
	var c MigrantContact
	return c, fromFields(&c, migrantContactFields, fields)
}

// Keys returns the JSON field keys a record type defines, in declared
// order, or nil for an unknown type.
func Keys(typ string) []string {
	switch typ {
	case TypeRegistration:
		return slices.Clone(registrationKeys)
	case TypeMigrantContact:
		return slices.Clone(migrantContactKeys)
	}
	return nil
}

// The keys once, for the validator, which must not build them per record.
var (
	registrationKeys   = keysOf(registrationFields)
	migrantContactKeys = keysOf(migrantContactFields)
)

// keys is Keys without the copy, for this package's read-only use.
func keys(typ string) []string {
	switch typ {
	case TypeRegistration:
		return registrationKeys
	case TypeMigrantContact:
		return migrantContactKeys
	}
	return nil
}

func keysOf[T any](refs []field[T]) []string {
	out := make([]string, len(refs))
	for i, f := range refs {
		out[i] = f.key
	}
	return out
}

func toFields[T any](v *T, refs []field[T]) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(refs))
	for _, f := range refs {
		if s := *f.ptr(v); s != "" {
			out[f.key] = quote(s)
		}
	}
	return out
}

func fromFields[T any](v *T, refs []field[T], fields map[string]json.RawMessage) error {
	for _, f := range refs {
		raw, ok := fields[f.key]
		if !ok {
			continue
		}
		s, ok := stringValue(raw)
		if !ok {
			return fmt.Errorf("model: field %s: not a string", f.key)
		}
		*f.ptr(v) = s
	}
	return nil
}

// stringValue decodes a JSON string; null and an empty message are "".
func stringValue(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	if s, ok := plainString(raw); ok {
		return s, true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// plainString reads a JSON string without escapes, the common case, without
// the decoder's reflection.
func plainString(raw json.RawMessage) (string, bool) {
	n := len(raw)
	if n < 2 || raw[0] != '"' || raw[n-1] != '"' {
		return "", false
	}
	body := raw[1 : n-1]
	for _, c := range body {
		if c == '\\' || c == '"' || c < 0x20 {
			return "", false
		}
	}
	if !utf8.Valid(body) {
		return "", false
	}
	return string(body), true
}

func quote(s string) json.RawMessage {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}
