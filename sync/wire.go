package sync

import (
	"encoding/json"
	"strings"

	"github.com/dengji/dengji/model"
)

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
	// Folded says the device held the state the change was applied to
	// (the push named a cursor at or past it, or it was the device's own
	// folded change), so the device, folding the change in, holds the
	// record as the server does: its pulls leave that state out.
	Folded bool `json:"folded,omitempty"`
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
	first := r.Status == StatusApplied || (r.Status == StatusDuplicate && r.Code == "" && r.Seq > 0)
	if first && ch.Op == OpCreate && len(r.Applied) == 0 {
		return sortedKeys(ch.Set)
	}
	return r.Applied
}

// Rules is the body of GET /v1/rules: what a device checks offline, so that
// most refusals never happen. The server answers it with an ETag; a device
// asks again with If-None-Match and gets 304 while nothing changed.
type Rules struct {
	// Scope is the caller's scope (分片包干): district code prefixes, each
	// covering every district whose code begins with it.
	Scope []string `json:"scope"`
	// AllDistricts is true for a caller whose scope is every district (an
	// administrator); Scope is then empty.
	AllDistricts bool `json:"all_districts,omitempty"`
	// Districts are the districts the server knows in the scope, for the
	// app to offer; a district new to the server may still be in scope.
	Districts []RulesDistrict `json:"districts"`
	// Election is the election round; its day turns on the age check.
	Election model.Election `json:"election"`
}

// RulesDistrict is one district of Rules.
type RulesDistrict struct {
	Code string `json:"code"`
	Name string `json:"name"`
	Kind string `json:"kind,omitempty"`
}

// InScope reports whether a district lies in the rules' scope.
func (r *Rules) InScope(district string) bool {
	if r.AllDistricts {
		return true
	}
	for _, p := range r.Scope {
		if p != "" && strings.HasPrefix(district, p) {
			return true
		}
	}
	return false
}
