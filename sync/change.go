package sync

import (
	"encoding/json"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Op says what a change does to its record.
type Op string

// Change operations.
const (
	OpCreate  Op = "create"  // a new record: every base is ""
	OpUpdate  Op = "update"  // sets fields of an existing record
	OpDelete  Op = "delete"  // sets the tombstone
	OpRestore Op = "restore" // clears the tombstone (a coordinator's decision)
)

// Change is one immutable entry of a device's change log.
type Change struct {
	ID       string `json:"id"`     // made on the device, time-ordered (UUIDv7)
	Device   string `json:"device"` // device that made it
	Counter  uint64 `json:"n"`      // per-device counter; only grows
	Record   string `json:"record"`
	Type     string `json:"type"`
	District string `json:"district"`
	Op       Op     `json:"op"`
	// Set holds the fields the change writes.
	Set map[string]json.RawMessage `json:"set,omitempty"`
	// Base holds, for every field the change writes (and, for a delete, every
	// field the author saw), the version the author last saw; "" if none.
	// Updates also carry the base of FieldDeleted; a create needs none.
	Base map[string]string `json:"base,omitempty"`
	HLC  HLC               `json:"hlc"`
	// Author is the user the server authenticated for the push; a device's
	// own value is ignored.
	Author string `json:"author,omitempty"`
}

// validFieldName reports whether k is a field name: a lower-case letter, then
// up to 62 lower-case letters, digits or underscores.
func validFieldName(k string) bool {
	if len(k) == 0 || len(k) > 63 || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for i := 1; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

const maxIDLen = 64

// MaxFields is the most fields one change may set (and, plus the tombstone,
// name bases for): far above any record type's, low enough that a change's
// maps stay small.
const MaxFields = 256

// validJSON is json.Valid with a fast path for the common value, a string
// with nothing to unescape.
func validJSON(v []byte) bool {
	n := len(v)
	if n >= 2 && v[0] == '"' && v[n-1] == '"' {
		plain := true
		for _, c := range v[1 : n-1] {
			if c < 0x20 || c == '"' || c == '\\' {
				plain = false
				break
			}
		}
		if plain {
			return true
		}
	}
	return json.Valid(v)
}

// Validate checks a change's shape, not its fields' meaning.
func (ch *Change) Validate() error {
	switch {
	case ch.ID == "" || len(ch.ID) > maxIDLen:
		return fmt.Errorf("%w: change id", ErrInvalidChange)
	case ch.Device == "" || len(ch.Device) > maxIDLen:
		return fmt.Errorf("%w: device", ErrInvalidChange)
	case ch.Record == "" || len(ch.Record) > maxIDLen:
		return fmt.Errorf("%w: record id", ErrInvalidChange)
	case ch.Type == "" || ch.District == "" || len(ch.District) > maxIDLen:
		return fmt.Errorf("%w: type and district are required", ErrInvalidChange)
	case ch.Counter == 0:
		return fmt.Errorf("%w: counter starts at 1", ErrInvalidChange)
	case len(ch.Set) > MaxFields || len(ch.Base) > MaxFields+1:
		return fmt.Errorf("%w: more than %d fields", ErrInvalidChange, MaxFields)
	case !plainName(ch.ID) || !plainName(ch.Device) || !plainName(ch.Record) || !plainName(ch.Type) || !plainName(ch.District):
		return fmt.Errorf("%w: an identifier holds spaces, control or invisible characters", ErrInvalidChange)
	}
	for k, v := range ch.Set {
		if k == FieldDeleted {
			continue
		}
		if !validFieldName(k) {
			return fmt.Errorf("%w: field name %q", ErrInvalidChange, k)
		}
		if !validJSON(v) {
			return fmt.Errorf("%w: field %q is not JSON", ErrInvalidChange, k)
		}
	}
	return ch.validateOp()
}

// plainName reports an identifier (change, device, record, type,
// district) made of visible characters only: valid UTF-8 without spaces,
// control characters or invisible formatting (bidirectional overrides),
// so that it can neither break a log line nor look like another.
func plainName(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsGraphic(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

func (ch *Change) validateOp() error {
	del, setsDel := ch.Set[FieldDeleted]
	switch ch.Op {
	case OpCreate, OpUpdate:
		if setsDel {
			return fmt.Errorf("%w: %s may not set %s", ErrInvalidChange, ch.Op, FieldDeleted)
		}
		if len(ch.Set) == 0 {
			return fmt.Errorf("%w: %s sets no field", ErrInvalidChange, ch.Op)
		}
	case OpDelete, OpRestore:
		want := jsonTrue
		if ch.Op == OpRestore {
			want = jsonFalse
		}
		if !setsDel || string(del) != string(want) || (ch.Op == OpDelete && len(ch.Set) != 1) {
			return fmt.Errorf("%w: %s must set %s to %s", ErrInvalidChange, ch.Op, FieldDeleted, want)
		}
	default:
		return fmt.Errorf("%w: unknown op %q", ErrInvalidChange, ch.Op)
	}
	if ch.Op == OpCreate {
		for k, b := range ch.Base {
			if b != "" {
				return fmt.Errorf("%w: create with base for %q", ErrInvalidChange, k)
			}
		}
	}
	return nil
}
