package sync

import "encoding/json"

// Limits both ends keep to. A device sends at most MaxPushBatch changes in one
// push and asks for at most MaxPullPage records a page.
const (
	MaxPushBatch = 2000
	MaxPullPage  = 5000
)

// PushRequest is the body of POST /v1/push.
type PushRequest struct {
	Changes []Change `json:"changes"`
}

// Result is the server's answer for one pushed change.
type Result struct {
	Change string `json:"change"`
	Status Status `json:"status"`
	Seq    uint64 `json:"seq,omitempty"` // sequence that carried it, if it changed state
	// Applied lists the fields written; it is left out for an applied
	// create, which writes every field it sets (see AppliedFields).
	Applied   []string   `json:"applied,omitempty"`
	Conflicts []Conflict `json:"conflicts,omitempty"`
	Code      string     `json:"code,omitempty"`
	Reason    string     `json:"reason,omitempty"`
	// Details carries machine-readable reasons, e.g. validation issues.
	Details json.RawMessage `json:"details,omitempty"`
	// Device is the device that sent the change. The server keeps it with
	// the result, so that it answers a change ID to that device only, and
	// leaves it out of its answers.
	Device string `json:"device,omitempty"`
}

// CounterReused is the Details of a counter_reused rejection. A device
// restored from a backup counts again from where the backup stood; the
// server refuses such a change and every later one of the batch without
// remembering them, and the device numbers its unacknowledged changes again
// above High, in the same order, and sends them again.
type CounterReused struct {
	High uint64 `json:"high_counter"` // the highest counter the server has taken from the device
}

// PushResponse is the body answering a push: one result per change, in order.
type PushResponse struct {
	Results []Result `json:"results"`
}

// PullResponse is the body of GET /v1/pull?cursor=N&limit=M. Records are the
// current state of every record in the caller's districts whose sequence is
// above the cursor, in sequence order; each record appears once, so pulling
// from cursor 0 is a snapshot of current state (tombstones are left out of
// it), not a replay of history.
type PullResponse struct {
	Records []Record `json:"records"`
	Cursor  uint64   `json:"cursor"` // pass back to continue
	More    bool     `json:"more"`   // another page is waiting
}

// ErrorBody is the body of every API error response.
type ErrorBody struct {
	Error APIError `json:"error"`
}

// APIError is an API error: a stable code to switch on and a message a person
// can act on, Chinese first, English after.
type APIError struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Details json.RawMessage `json:"details,omitempty"`
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// AppliedFields is the fields r says ch wrote. A duplicate repeats the
// first answer, so the duplicate of an applied create (no code) wrote every
// field too: read as nothing, a device whose first answer was lost kept the
// create out of its base, and a record it then deleted stayed a tombstone
// without fields there, unlike the server's (found by server/chaos).
func (r *Result) AppliedFields(ch *Change) []string {
	if (r.Status == StatusApplied || (r.Status == StatusDuplicate && r.Code == "")) && ch.Op == OpCreate && len(r.Applied) == 0 {
		return sortedKeys(ch.Set)
	}
	return r.Applied
}
