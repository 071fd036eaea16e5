// Package audit is the tamper-evident audit log: every decision and security
// event (failed sign-ins, password, account and device changes, conflict
// resolutions, duplicate decisions, imports, unmasked exports) is appended,
// in the store transaction of what it records, as an Entry holding the
// SHA-256 of the entry before it. Changing, removing or reordering an entry
// breaks the chain at that entry, and Verify names it.
//
// An entry holds no personal data beyond record IDs: its target is a user
// name, a device ID, a record, case or conflict ID or a district code, never
// a voter's name, ID number, phone or address, and its details are counts,
// codes and the choice made.
//
// The chain proves that the log was not edited after an entry was written,
// not who wrote it: anyone able to rewrite the whole data file can compute a
// new chain. Record the head (Result.Head) somewhere else now and then, and
// a rewrite is caught too.
//
// The package knows no store: a store's transaction satisfies Log and
// Reader (store.AuditTx).
package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Action is what an entry records: a stable code, only ever added to.
type Action string

// Actions.
const (
	SignInFailed     Action = "sign_in_failed"    // target: the account, if it exists
	RefreshReused    Action = "refresh_reused"    // a used-up refresh token presented again: the session ended
	PasswordChanged  Action = "password_changed"  // by its owner
	PasswordReset    Action = "password_reset"    // by an admin: a one-time password
	AccountUnlocked  Action = "account_unlocked"  // failed sign-ins forgotten
	UserCreated      Action = "user_created"      // details: role and scope
	ScopeChanged     Action = "scope_changed"     // details: the districts before and after
	RoleChanged      Action = "role_changed"      // details: the roles before and after
	UserDisabled     Action = "user_disabled"     // every session ended
	UserEnabled      Action = "user_enabled"      //
	DeviceRevoked    Action = "device_revoked"    // target: the device
	ConflictResolved Action = "conflict_resolved" // target: the conflict; details: record, field, choice
	DuplicateDecided Action = "duplicate_decided" // target: the case; details: status, kept record, members
	NoticeAnswered   Action = "notice_answered"   // target: the case; details: notice, record, answer (never the note)
	Import           Action = "import"            // details: the file's kind and format, the report's counts
	ExportUnmasked   Action = "export_unmasked"   // an export or list showing ID numbers, phones or addresses
	ElectionChanged  Action = "election_changed"  // the election day the age check uses
	// ConflictReopened: a resolved conflict put back in the queue; details:
	// record, field, the earlier choice and who made it, the reason.
	ConflictReopened Action = "conflict_reopened"
	// DuplicateReopened: a decided duplicate case put back in the queue;
	// details: the earlier status and kept record, the reason.
	DuplicateReopened Action = "duplicate_reopened"
	NameChanged       Action = "name_changed" // an account's display name; details: before and after
	Restored          Action = "restored"     // target: the backup file; details: its sequence, the generations
)

// Actors that are not a user.
const (
	ActorSystem    = "system"    // the server itself, or an operator at the command line
	ActorAnonymous = "anonymous" // not signed in (a failed sign-in)
)

// Entry is one line of the log.
type Entry struct {
	Seq     uint64          `json:"seq"`  // 1, 2, 3, … with no gap
	Time    time.Time       `json:"time"` // UTC, to the microsecond
	Actor   string          `json:"actor"`
	Device  string          `json:"device,omitempty"` // the actor's device, if any
	Action  Action          `json:"action"`
	Target  string          `json:"target,omitempty"`
	Details json.RawMessage `json:"details,omitempty"` // a small JSON object of non-personal facts
	Prev    string          `json:"prev"`              // Hash of the entry before ("" for the first)
	Hash    string          `json:"hash"`              // Sum of this entry
}

// D is an entry's details.
type D map[string]any

// Log is where entries are appended: a store's read-write transaction.
type Log interface {
	// LastAudit is the last entry, or nil if there is none.
	LastAudit() (*Entry, error)
	// AppendAudit stores e, whose Seq is one above the last entry's.
	AppendAudit(e *Entry) error
}

// Reader pages through the log: a store's transaction.
type Reader interface {
	// AuditEntries returns up to limit entries with Seq above after, in
	// Seq order; an entry that cannot be decoded is an *UnreadableError.
	AuditEntries(after uint64, limit int) ([]Entry, error)
}

// UnreadableError is a stored entry that cannot be decoded.
type UnreadableError struct {
	Seq uint64
	Err error
}

func (e *UnreadableError) Error() string {
	return fmt.Sprintf("audit: entry %d unreadable: %v", e.Seq, e.Err)
}

func (e *UnreadableError) Unwrap() error { return e.Err }

// now is the clock entries are stamped with.
var now = time.Now

// Append adds an entry to log, in the caller's transaction, so it commits
// with what it records or not at all. The actor is the context's (WithActor;
// ActorSystem if none). details, if not nil, is encoded as a JSON object.
func Append(ctx context.Context, log Log, action Action, target string, details any) error {
	last, err := log.LastAudit()
	if err != nil {
		return fmt.Errorf("audit: last entry: %w", err)
	}
	a := ActorFrom(ctx)
	e := Entry{Seq: 1, Time: now().UTC().Truncate(time.Microsecond), Actor: a.User, Device: a.Device,
		Action: action, Target: target}
	if last != nil {
		e.Seq, e.Prev = last.Seq+1, last.Hash
	}
	if details != nil {
		raw, err := json.Marshal(details)
		if err != nil {
			return fmt.Errorf("audit: details: %w", err)
		}
		e.Details = canonical(raw)
	}
	e.Hash = e.Sum()
	return log.AppendAudit(&e)
}

// hashVersion begins what Sum hashes, so a later encoding can be told apart.
const hashVersion = "dengji-audit-1"

// Sum is the SHA-256, in hex, of the entry's canonical encoding: each of
// hashVersion, Seq (decimal), Time (RFC 3339 in UTC, nanoseconds as
// needed), Actor, Device, Action, Target, Details and Prev as a netstring
// (its length in bytes, a colon, the bytes, a comma). Details is taken in
// canonical form (compact, keys sorted, numbers as written, no HTML
// escaping), so a backend may store it as JSON of its own (a jsonb column)
// and the entry still verifies; a backend must keep Time to the
// microsecond.
func (e *Entry) Sum() string {
	h := sha256.New()
	for _, f := range []string{hashVersion, strconv.FormatUint(e.Seq, 10), e.Time.UTC().Format(time.RFC3339Nano),
		e.Actor, e.Device, string(e.Action), e.Target, string(canonical(e.Details)), e.Prev} {
		fmt.Fprintf(h, "%d:%s,", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// canonical is raw compact, its object keys sorted, numbers as written and
// nothing HTML-escaped; raw itself if it is not JSON (and then the hash
// tells), nil for nothing or null.
func canonical(raw json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return raw
	}
	if v == nil {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return raw
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// Actor is who did what an entry records.
type Actor struct {
	User   string // a user name, ActorSystem or ActorAnonymous
	Device string // the device the user acted from, if any
}

type actorKey struct{}

// WithActor returns ctx carrying a, the actor of the entries appended with it.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// As returns ctx with user as its actor, keeping the device if the actor
// was user already; ctx unchanged if user is "".
func As(ctx context.Context, user string) context.Context {
	a := ActorFrom(ctx)
	if user == "" || a.User == user {
		return ctx
	}
	return WithActor(ctx, Actor{User: user})
}

// ActorFrom is ctx's actor; ActorSystem if it has none.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok && a.User != "" {
		return a
	}
	return Actor{User: ActorSystem}
}

// Problems Verify finds.
const (
	ProblemHash       = "hash"       // the entry is not what was hashed: it was changed
	ProblemPrev       = "prev"       // the entry does not chain to the one before: one was changed, removed or put in
	ProblemGap        = "gap"        // entries are missing before this one
	ProblemSeq        = "seq"        // the entry's sequence number is not the next one
	ProblemUnreadable = "unreadable" // the stored entry cannot be decoded
)

// Break is the first entry where the chain does not hold.
type Break struct {
	Seq     uint64 `json:"seq"`
	Problem string `json:"problem"`
	Message string `json:"message"` // Chinese / English
}

// Result is what Verify found.
type Result struct {
	Entries uint64 `json:"entries"`        // entries checked before the break, or all
	Head    string `json:"head,omitempty"` // the last good entry's hash
	Broken  *Break `json:"broken,omitempty"`
}

// verifyPage is how many entries Verify reads at a time.
const verifyPage = 1000

// Verify walks the whole log in order and checks each entry's sequence
// number, its link to the entry before and its hash. It stops at the first
// broken entry (Result.Broken); an error is a failure to read the log.
func Verify(ctx context.Context, r Reader) (*Result, error) {
	res := &Result{}
	var prev *Entry
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		after := uint64(0)
		if prev != nil {
			after = prev.Seq
		}
		page, err := r.AuditEntries(after, verifyPage)
		ue := (*UnreadableError)(nil)
		if err != nil && !errors.As(err, &ue) {
			return nil, fmt.Errorf("audit: read entries: %w", err)
		}
		for i := range page { // those before an unreadable one too
			e := &page[i]
			if b := check(prev, e); b != nil {
				res.Broken = b
				return res, nil
			}
			res.Entries++
			res.Head = e.Hash
			prev = e
		}
		if ue != nil {
			res.Broken = &Break{ue.Seq, ProblemUnreadable, "记录无法读取 / the entry cannot be read"}
			return res, nil
		}
		if len(page) == 0 {
			return res, nil
		}
	}
}

// check is what is wrong with e following prev (nil for the first entry).
func check(prev, e *Entry) *Break {
	want, wantPrev := uint64(1), ""
	if prev != nil {
		want, wantPrev = prev.Seq+1, prev.Hash
	}
	switch {
	case e.Seq < want:
		return &Break{e.Seq, ProblemSeq, fmt.Sprintf("序号应为 %d / its sequence number should be %d", want, want)}
	case e.Seq > want:
		return &Break{e.Seq, ProblemGap, fmt.Sprintf("缺少第 %d 至 %d 条 / entries %d to %d are missing",
			want, e.Seq-1, want, e.Seq-1)}
	case e.Prev != wantPrev:
		return &Break{e.Seq, ProblemPrev, fmt.Sprintf("与第 %d 条不相连（其一被改动，或其间有删除、插入） / "+
			"does not chain to entry %d (one of the two was changed, or one was removed or put in between)", want-1, want-1)}
	case e.Sum() != e.Hash:
		return &Break{e.Seq, ProblemHash, "内容与哈希不符（已被改动） / its content does not match its hash (it was changed)"}
	}
	return nil
}
