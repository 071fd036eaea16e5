package sync

import (
	"bytes"
	"encoding/json"
	"iter"
	"maps"
)

// FieldDeleted is the reserved field holding a record's tombstone: JSON true
// once the record is deleted, false (or absent) while it is alive.
const FieldDeleted = "_deleted"

var (
	jsonTrue  = json.RawMessage("true")
	jsonFalse = json.RawMessage("false")
)

// Field is one field's value and version. The version is the ID of the change
// that last wrote it; a field never written has version "".
type Field struct {
	Value   json.RawMessage `json:"v"`
	Version string          `json:"ver"`
}

// Writer says who made a change that a record's fields still carry.
type Writer struct {
	Device string `json:"device"`
	Author string `json:"author,omitempty"`
	HLC    HLC    `json:"hlc"`
}

// Record is the server's (and a device's last pulled) state of one record.
type Record struct {
	ID       string           `json:"id"`
	Type     string           `json:"type"`
	District string           `json:"district"`
	Fields   map[string]Field `json:"fields"`
	// Writers describes every version that Fields still refer to.
	Writers map[string]Writer `json:"writers,omitempty"`
	// Seq is the server sequence number of the last change that touched the
	// record; 0 on a device for a record the server has not seen.
	Seq uint64 `json:"seq,omitempty"`
	HLC HLC    `json:"hlc"`
}

// Deleted reports whether the record is a tombstone.
func (r *Record) Deleted() bool {
	f, ok := r.Fields[FieldDeleted]
	return ok && bytes.Equal(f.Value, jsonTrue)
}

// Version is the current version of a field ("" if never written).
func (r *Record) Version(field string) string { return r.Fields[field].Version }

// Values returns the record's field values without the reserved fields.
func (r *Record) Values() map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(r.Fields))
	maps.Insert(out, r.All())
	return out
}

// All yields the record's fields and values, without the reserved fields,
// in no particular order.
func (r *Record) All() iter.Seq2[string, json.RawMessage] {
	return func(yield func(string, json.RawMessage) bool) {
		for k, f := range r.Fields {
			if k != FieldDeleted && !yield(k, f.Value) {
				return
			}
		}
	}
}

// Clone returns a deep copy whose maps may be changed freely (values are
// shared: json.RawMessage values are never mutated in place).
func (r *Record) Clone() *Record {
	c := *r
	c.Fields = make(map[string]Field, len(r.Fields))
	for k, v := range r.Fields {
		c.Fields[k] = v
	}
	c.Writers = make(map[string]Writer, len(r.Writers))
	for k, v := range r.Writers {
		c.Writers[k] = v
	}
	return &c
}

// Apply writes a change's fields unconditionally, as the author of the change
// sees its own edit: the device overlays its pending changes with it.
func (r *Record) Apply(ch *Change) {
	if r.Fields == nil {
		r.Fields = make(map[string]Field, len(ch.Set)+1)
	}
	for k, v := range ch.Set {
		r.Fields[k] = Field{Value: v, Version: ch.ID}
	}
	r.wrote(ch)
}

// set writes one field as ch.
func (r *Record) set(field string, v json.RawMessage, ch *Change) {
	if r.Fields == nil {
		r.Fields = map[string]Field{}
	}
	r.Fields[field] = Field{Value: v, Version: ch.ID}
	r.wrote(ch)
}

// wrote records ch among the record's writers.
func (r *Record) wrote(ch *Change) {
	if r.Writers == nil {
		r.Writers = make(map[string]Writer, 1)
	}
	r.Writers[ch.ID] = Writer{Device: ch.Device, Author: ch.Author, HLC: ch.HLC}
	if ch.HLC > r.HLC {
		r.HLC = ch.HLC
	}
}

// Prune drops writers no field refers to any more.
func (r *Record) Prune() {
	for id := range r.Writers {
		if !r.refers(id) {
			delete(r.Writers, id)
		}
	}
}

func (r *Record) refers(version string) bool {
	for _, f := range r.Fields {
		if f.Version == version {
			return true
		}
	}
	return false
}
