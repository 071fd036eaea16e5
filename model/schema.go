package model

import (
	"reflect"
	"slices"
)

// Type declares one record type: its fields, how each is normalized, the
// rules Validate runs and the record it belongs to. It is the one place a
// record type is described; keys, normalization, validation, the server's
// parent check and the typed structs all read it. A new record type is a new
// Type in Types and, for Go callers, a struct whose JSON tags are its keys.
type Type struct {
	Name   string
	Fields []Field
	// Parent is the key of the field holding the ID of the record this one
	// belongs to, which must be of type ParentType and in the same district;
	// "" if the type stands alone.
	Parent, ParentType string

	check func(v values, rules Rules, rep *Report) // type-specific rules
	keys  []string
}

// Kind says how a field's value is normalized and checked.
type Kind uint8

// Field kinds.
const (
	KindText     Kind = iota // trimmed
	KindCode                 // one code of the field's Enum
	KindDate                 // YYYY-MM-DD
	KindIDNumber             // resident ID number, 18 characters
	KindPhone                // 11-digit mobile or 0AREA-LOCAL landline
	KindGender               // M or F
	KindRecordID             // the ID of another record
)

// Field is one key of a record type.
type Field struct {
	Key  string
	Kind Kind
	Enum *Enum // for KindCode and KindGender
	Max  int   // longest value in characters
	// Lines lets a text field hold line feeds (notes, details); no other
	// field holds a control character (see CheckContract).
	Lines bool
}

// Length limits of field values, in characters.
const (
	maxShort = 64  // names, codes, dates, numbers
	maxLong  = 200 // addresses, notes
)

func text(key string, max int) Field    { return Field{Key: key, Kind: KindText, Max: max} }
func lines(key string) Field            { return Field{Key: key, Kind: KindText, Max: maxLong, Lines: true} }
func code(key string, e *Enum) Field    { return Field{Key: key, Kind: KindCode, Enum: e, Max: maxShort} }
func typed(key string, kind Kind) Field { return Field{Key: key, Kind: kind, Max: maxShort} }
func genderField(key string, e *Enum) Field {
	return Field{Key: key, Kind: KindGender, Enum: e, Max: maxShort}
}

// Registration is the type of a voter registration (选民登记).
var RegistrationType = &Type{
	Name: TypeRegistration,
	Fields: []Field{
		text("name", maxShort),
		genderField("gender", &Genders),
		typed("birth_date", KindDate),
		typed("id_number", KindIDNumber),
		text("household_address", maxLong),
		text("residence_address", maxLong),
		typed("phone", KindPhone),
		text("voter_group", maxShort),
		code("channel", &RegistrationChannels),
		code("status", &Statuses),
		code("addition_reason", &AdditionReasons),
		code("removal_reason", &RemovalReasons),
		lines("removal_detail"),
		code("category", &Categories),
		lines("category_note"),
		text("registrar", maxShort),
		text("device", maxShort),
		text("ref", maxShort),
	},
	check: validateRegistration,
}

// MigrantContactType is the type of a migrant-voter contact record
// (外出人员联系记录), which belongs to a registration of its district.
var MigrantContactType = &Type{
	Name: TypeMigrantContact,
	Fields: []Field{
		typed("registration_id", KindRecordID),
		typed("date", KindDate),
		code("channel", &ContactChannels),
		text("reached", maxShort),
		code("outcome", &ContactOutcomes),
		text("elsewhere", maxLong),
		text("proxy_name", maxShort),
		typed("proxy_id_number", KindIDNumber),
		code("evidence", &Evidences),
		lines("note"),
	},
	Parent: "registration_id", ParentType: TypeRegistration,
	check: validateMigrantContact,
}

// Types are the record types, in the order statistics and exports list them.
var Types = []*Type{RegistrationType, MigrantContactType}

func init() {
	for _, t := range Types {
		t.keys = make([]string, len(t.Fields))
		for i, f := range t.Fields {
			t.keys[i] = f.Key
		}
	}
	registrationBinding = bind[Registration](RegistrationType)
	migrantContactBinding = bind[MigrantContact](MigrantContactType)
}

// Lookup returns the type named name, or nil.
func Lookup(name string) *Type {
	for _, t := range Types {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Keys returns the field keys of t in declared order.
func (t *Type) Keys() []string { return slices.Clone(t.keys) }

// Field returns the field declared for key.
func (t *Type) Field(key string) (Field, bool) {
	if i := slices.Index(t.keys, key); i >= 0 {
		return t.Fields[i], true
	}
	return Field{}, false
}

// Keys returns the JSON field keys a record type defines, in declared
// order, or nil for an unknown type.
func Keys(typ string) []string {
	if t := Lookup(typ); t != nil {
		return t.Keys()
	}
	return nil
}

// binding maps a type's fields to the string fields of a Go struct by JSON
// tag, so the struct is a typed view of the declaration, not a second one.
type binding []int // per Type field: index of the struct field

func bind[T any](t *Type) binding {
	rt := reflect.TypeFor[T]()
	b := make(binding, len(t.Fields))
	for i, f := range t.Fields {
		sf, ok := rt.FieldByNameFunc(func(name string) bool {
			field, _ := rt.FieldByName(name)
			return field.Tag.Get("json") == f.Key
		})
		if !ok || sf.Type.Kind() != reflect.String {
			panic("model: " + rt.Name() + " has no string field tagged " + f.Key)
		}
		b[i] = sf.Index[0]
	}
	return b
}

var registrationBinding, migrantContactBinding binding
