package sync

import (
	"bytes"
	"encoding/json"
	"sort"
)

// Status is the outcome of one pushed change.
type Status string

// Push outcomes.
const (
	StatusApplied   Status = "applied"   // every field it sets was applied (or already had its value)
	StatusDuplicate Status = "duplicate" // the server has seen this change before; nothing was done again
	StatusConflict  Status = "conflict"  // at least one field conflicted; see Conflicts
	StatusRejected  Status = "rejected"  // nothing applied; see Code and Reason
)

// Rejection codes: stable and append-only, the SDK switches on them.
const (
	CodeInvalidChange  = "invalid_change"  // malformed change
	CodeUnknownRecord  = "unknown_record"  // an update or delete of a record the server does not have
	CodeRecordMismatch = "record_mismatch" // type or district differs from the stored record (both are immutable)
	CodeRecordDeleted  = "record_deleted"  // an edit by an author who saw the record deleted
	CodeCounterReused  = "counter_reused"  // the device reused a counter for a different change (restored from a backup?)
	CodeWrongDevice    = "wrong_device"    // the change names another device than the one that pushed it
	CodeValidation     = "validation"      // the resulting record fails the model's validation
	CodeChangeIDTaken  = "change_id_taken" // another device sent a change with this ID; nothing of it is shown
	CodeForbiddenOp    = "forbidden_op"    // the operation is a coordinator's (restore), not the sender's
	CodeOutOfScope     = "out_of_scope"    // the change's district is outside the sender's scope; the rest of the batch goes on
)

// ConflictKind says which writes collided.
type ConflictKind string

// Conflict kinds.
const (
	KindField        ConflictKind = "field"         // two values for one field
	KindEditDeleted  ConflictKind = "edit_deleted"  // an edit of a record deleted concurrently
	KindDeleteEdited ConflictKind = "delete_edited" // a delete of a record edited concurrently
)

// Side is one write in a conflict.
type Side struct {
	Change string          `json:"change"` // change ID (for the base: the base version)
	Value  json.RawMessage `json:"value,omitempty"`
	Device string          `json:"device,omitempty"`
	Author string          `json:"author,omitempty"`
	HLC    HLC             `json:"hlc,omitempty"`
}

// Conflict is a pair of concurrent writes kept for a coordinator. Kept is the
// provisional winner, applied; Other was not applied.
type Conflict struct {
	ID       string       `json:"id"`
	Kind     ConflictKind `json:"kind"`
	Record   string       `json:"record"`
	Type     string       `json:"type"`
	District string       `json:"district"`
	Field    string       `json:"field"`
	Base     Side         `json:"base"`
	Kept     Side         `json:"kept"`
	Other    Side         `json:"other"`
	// Status, Resolution and Seq are kept by the server.
	Status     ConflictStatus `json:"status"`
	Resolution *Resolution    `json:"resolution,omitempty"`
	Seq        uint64         `json:"seq,omitempty"` // sequence of the change that raised it
}

// ConflictStatus is where a conflict is in review.
type ConflictStatus string

// Conflict statuses.
const (
	ConflictOpen     ConflictStatus = "open"
	ConflictResolved ConflictStatus = "resolved"
)

// Resolution is a coordinator's decision on a conflict.
type Resolution struct {
	Choice string          `json:"choice"` // "kept", "other" or "value"
	Value  json.RawMessage `json:"value,omitempty"`
	By     string          `json:"by"`
	Change string          `json:"change,omitempty"` // the change that carried the decision, if one was needed
	At     HLC             `json:"at"`
}

// Outcome is what Merge did with a change.
type Outcome struct {
	Status    Status
	Changed   bool     // the record's state changed: it needs a new sequence number
	Applied   []string // fields written; nil for a create, which writes all it sets (see Result.AppliedFields)
	Conflicts []Conflict
	Code      string // when rejected
	Reason    string
}

// Merge applies a change to the current state of its record (nil if the
// record does not exist) and returns the next state with the outcome. It
// never modifies cur. Merge is deterministic: the same state and change give
// the same result on every server.
func Merge(cur *Record, ch *Change) (*Record, Outcome) {
	if err := ch.Validate(); err != nil {
		return cur, reject(CodeInvalidChange, err.Error())
	}
	if cur == nil {
		return create(ch)
	}
	if cur.Type != ch.Type || cur.District != ch.District {
		return cur, reject(CodeRecordMismatch, "type and district of a record never change")
	}
	next := cur.Clone()
	var out Outcome
	switch ch.Op {
	case OpDelete:
		out = mergeDelete(next, ch)
	default:
		out = mergeFields(next, ch)
	}
	if !out.Changed {
		return cur, out
	}
	next.Prune()
	return next, out
}

func reject(code, reason string) Outcome {
	return Outcome{Status: StatusRejected, Code: code, Reason: reason}
}

func create(ch *Change) (*Record, Outcome) {
	if ch.Op != OpCreate {
		return nil, reject(CodeUnknownRecord, "the server has no record "+ch.Record)
	}
	rec := &Record{ID: ch.Record, Type: ch.Type, District: ch.District}
	rec.Apply(ch)
	return rec, Outcome{Status: StatusApplied, Changed: true}
}

// mergeFields merges creates, updates and restores field by field.
func mergeFields(rec *Record, ch *Change) Outcome {
	if rec.Deleted() && ch.Op != OpRestore {
		if ch.Base[FieldDeleted] == rec.Version(FieldDeleted) {
			return reject(CodeRecordDeleted, "the record was deleted before this edit was made")
		}
		return Outcome{Status: StatusConflict, Conflicts: []Conflict{editDeleted(rec, ch)}}
	}
	out := Outcome{Status: StatusApplied}
	for _, k := range sortedKeys(ch.Set) {
		v := ch.Set[k]
		cur := rec.Fields[k]
		switch {
		case ch.Base[k] == cur.Version:
			rec.set(k, v, ch)
			out.Applied = append(out.Applied, k)
			out.Changed = true
		case jsonEqual(v, cur.Value):
			// Concurrent writes of the same value converge: nothing to decide.
		default:
			out.Conflicts = append(out.Conflicts, fieldConflict(rec, ch, k))
		}
	}
	if len(out.Conflicts) > 0 {
		out.Status = StatusConflict
	}
	return out
}

// mergeDelete applies a delete whose author saw every field as it is now;
// otherwise the record stays alive and the delete becomes a conflict.
func mergeDelete(rec *Record, ch *Change) Outcome {
	if rec.Deleted() {
		return Outcome{Status: StatusApplied} // deleted concurrently: converged
	}
	var stale []string
	for _, k := range sortedKeys(rec.Fields) {
		if k != FieldDeleted && ch.Base[k] != rec.Fields[k].Version {
			stale = append(stale, k)
		}
	}
	if len(stale) > 0 {
		return Outcome{Status: StatusConflict, Conflicts: []Conflict{deleteEdited(rec, ch, stale)}}
	}
	rec.set(FieldDeleted, jsonTrue, ch)
	return Outcome{Status: StatusApplied, Changed: true, Applied: []string{FieldDeleted}}
}

func fieldConflict(rec *Record, ch *Change, field string) Conflict {
	cur := rec.Fields[field]
	return Conflict{
		Kind:  KindField,
		Field: field,
		Base:  Side{Change: ch.Base[field]},
		Kept:  rec.side(cur.Version, cur.Value),
		Other: changeSide(ch, ch.Set[field]),
	}.of(rec, ch)
}

func editDeleted(rec *Record, ch *Change) Conflict {
	edit, _ := json.Marshal(ch.Set)
	tomb := rec.Fields[FieldDeleted]
	return Conflict{
		Kind:  KindEditDeleted,
		Field: FieldDeleted,
		Base:  Side{Change: ch.Base[FieldDeleted]},
		Kept:  rec.side(tomb.Version, tomb.Value),
		Other: changeSide(ch, edit),
	}.of(rec, ch)
}

func deleteEdited(rec *Record, ch *Change, stale []string) Conflict {
	edited := make(map[string]json.RawMessage, len(stale))
	latest := ""
	for _, k := range stale {
		f := rec.Fields[k]
		edited[k] = f.Value
		if latest == "" || rec.Writers[f.Version].HLC > rec.Writers[latest].HLC {
			latest = f.Version
		}
	}
	kept, _ := json.Marshal(edited)
	return Conflict{
		Kind:  KindDeleteEdited,
		Field: FieldDeleted,
		Base:  Side{Change: ch.Base[FieldDeleted]},
		Kept:  rec.side(latest, kept),
		Other: changeSide(ch, jsonTrue),
	}.of(rec, ch)
}

// of fills in the envelope; a conflict's ID is derived from the change and the
// field, so a retried push can never store it twice.
func (c Conflict) of(rec *Record, ch *Change) Conflict {
	c.ID = ch.ID + ":" + c.Field
	c.Record, c.Type, c.District = rec.ID, rec.Type, rec.District
	c.Status = ConflictOpen
	return c
}

func (r *Record) side(version string, v json.RawMessage) Side {
	w := r.Writers[version]
	return Side{Change: version, Value: v, Device: w.Device, Author: w.Author, HLC: w.HLC}
}

func changeSide(ch *Change, v json.RawMessage) Side {
	return Side{Change: ch.ID, Value: v, Device: ch.Device, Author: ch.Author, HLC: ch.HLC}
}

// jsonEqual compares two JSON values ignoring insignificant white space.
func jsonEqual(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	if a == nil || b == nil {
		return false
	}
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return false
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
