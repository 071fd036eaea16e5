package model

import (
	"encoding/json"
	"fmt"
	"reflect"
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

// District is an electoral district (选区).
type District struct {
	Code        string   `json:"code"`
	Name        string   `json:"name"`
	Kind        string   `json:"kind"` // DistrictKinds
	Town        string   `json:"town,omitempty"`
	County      string   `json:"county,omitempty"`
	VoterGroups []string `json:"voter_groups,omitempty"`
	// Population is the number of residents of voting age the office
	// stated when it imported the district (0: not stated); statistics
	// give the registration rate against it.
	Population int `json:"population,omitempty"`
}

// Fields returns r as sync-layer fields. Empty strings are left out.
func (r Registration) Fields() map[string]json.RawMessage {
	return toFields(reflect.ValueOf(&r).Elem(), RegistrationType, registrationBinding)
}

// RegistrationFromFields reads the known keys of fields into a Registration.
// Unknown keys are ignored (Validate refuses them); a known key whose value
// is not a JSON string or null is an error.
func RegistrationFromFields(fields map[string]json.RawMessage) (Registration, error) {
	var r Registration
	return r, fromFields(reflect.ValueOf(&r).Elem(), RegistrationType, registrationBinding, fields)
}

// Fields returns c as sync-layer fields. Empty strings are left out.
func (c MigrantContact) Fields() map[string]json.RawMessage {
	return toFields(reflect.ValueOf(&c).Elem(), MigrantContactType, migrantContactBinding)
}

// MigrantContactFromFields is RegistrationFromFields for migrant contacts.
func MigrantContactFromFields(fields map[string]json.RawMessage) (MigrantContact, error) {
	var c MigrantContact
	return c, fromFields(reflect.ValueOf(&c).Elem(), MigrantContactType, migrantContactBinding, fields)
}

func toFields(v reflect.Value, t *Type, b binding) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(t.Fields))
	for i, f := range t.Fields {
		if s := v.Field(b[i]).String(); s != "" {
			out[f.Key] = quote(s)
		}
	}
	return out
}

func fromFields(v reflect.Value, t *Type, b binding, fields map[string]json.RawMessage) error {
	for i, f := range t.Fields {
		raw, ok := fields[f.Key]
		if !ok {
			continue
		}
		s, ok := stringValue(raw)
		if !ok {
			return fmt.Errorf("model: field %s: not a string", f.Key)
		}
		v.Field(b[i]).SetString(s)
	}
	return nil
}

// stringValue decodes a JSON string strictly (decodeString); null and an
// empty message are "".
func stringValue(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	s, code := decodeString(raw)
	return s, code == ""
}

// plainString reads a JSON string without escapes, the common case, without
// the decoder's reflection.
func plainString(raw json.RawMessage) (string, bool) {
	body, ok := PlainBytes(raw)
	return string(body), ok
}

// PlainBytes reads a JSON string with nothing to unescape, the common case,
// without a decoder, and returns its contents sliced from raw; ok is false
// for anything else (decode that the long way).
func PlainBytes(raw []byte) ([]byte, bool) {
	n := len(raw)
	if n < 2 || raw[0] != '"' || raw[n-1] != '"' {
		return nil, false
	}
	body := raw[1 : n-1]
	for _, c := range body {
		if c == '\\' || c == '"' || c < 0x20 {
			return nil, false
		}
	}
	if !utf8.Valid(body) {
		return nil, false
	}
	return body, true
}

func quote(s string) json.RawMessage {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}
