// Package model is the record model that the device SDK and the server share:
// the record types, their typed fields, and the validation both ends run
// before a change is accepted.
//
// The sync layer (package sync) moves records as an envelope of ID, type,
// district and a map of JSON field values; this package gives those fields
// their meaning.
//
// Field keys are the JSON tags of Registration and MigrantContact; every
// value is a JSON string. Enumerated fields hold the codes of one Enum table
// each (Genders, Statuses, ...), which also carries the Chinese and English
// labels. A caller applies a change, runs Normalize on the full field set,
// then Validate, and stores the record only if the Report is OK. Issue codes
// are stable and append-only (the Code constants). Resident ID numbers are
// handled by subpackage idcard.
package model

// Record types carried by the sync protocol.
const (
	TypeRegistration   = "registration"
	TypeMigrantContact = "migrant_contact"
)
