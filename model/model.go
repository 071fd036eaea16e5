// Package model is the record model that the device SDK and the server share:
// the record types, their typed fields, and the validation both ends run
// before a change is accepted.
//
// The sync layer (package sync) moves records as an envelope of ID, type,
// district and a map of JSON field values; this package gives those fields
// their meaning.
package model

// Record types carried by the sync protocol.
const (
	TypeRegistration   = "registration"
	TypeMigrantContact = "migrant_contact"
)
