// Package sync is Dengji's sync protocol: the change log a device keeps, the
// per-field three-way merge the server runs, and the messages both ends
// exchange. It is pure code: no network, no disk, no knowledge of which fields
// a record type has.
//
// # Model
//
// A record is an envelope (ID, type, district) and a set of named fields. Each
// field carries its value and its version: the ID of the change that last
// wrote it. Deletion is the reserved field "_deleted" (a tombstone), so it
// merges like any other field.
//
// A change sets some fields and, for every field it sets, names the version
// its author last saw (its base). The server applies a field when the base is
// the field's current version. When it is not, the two writes were
// concurrent: equal values converge silently; different values keep the value
// already committed (first committed wins, a rule no device clock can bend)
// and store a Conflict holding the base, both values and both authors for a
// coordinator to decide. An edit concurrent with a delete, or a delete
// concurrent with an edit, is always a conflict: the record is never silently
// resurrected nor silently lost.
//
// # Wire
//
// Push and pull bodies are JSON (wire.go). Records and changes are encoded by
// hand (Record.AppendJSON, Change.AppendJSON) and push bodies read by a fast
// path (ParsePushRequest) with a general JSON decoder behind it: both ends do
// this for every record they sync, and tests hold both to encoding/json's
// results.
package sync
