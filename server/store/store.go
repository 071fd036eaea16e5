// Package store is the server's storage contract and the sync operations
// written once over it: Push (exactly-once merge of device changes), Pull
// (paged change feed per district) and conflict resolution. Backends (bbolt in
// boltstore, PostgreSQL in pgstore) implement Store and pass the conformance
// suite in storetest; they hold no merge logic of their own.
package store

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/audit"
	dsync "github.com/dengji/dengji/sync"
)

// Store is a transactional key space. Every backend keeps this contract,
// which storetest checks; bbolt keeps it by construction (one writer at a
// time, readers on a snapshot), a SQL backend must earn it.
//
// Update runs fn in one read-write transaction: everything fn wrote commits
// together, or nothing does (fn's error is returned and no write stays).
// Updates are serializable: their effects are those of running them one at
// a time in some order, each seeing everything the ones before committed.
// Nothing weaker is enough for the sync operations: Push reads a device's
// counter, a change ID's result and a record's field versions, then writes
// on what it read, so two servers taking the same batch at once under
// snapshot isolation would both apply it (a lost update), and audit.Append
// chains each entry to the last one it read. A backend may run fn again
// after a serialization failure, so fn must not keep what it collected
// from an attempt that failed (assign results, do not append to them) and
// must have no effect outside the transaction.
//
// View runs fn in a read-only transaction on one consistent snapshot:
// everything committed before it began, nothing committed after.
//
// Feed visibility: sequence numbers (NextSeq) are given out in increasing
// order and become visible in that order. When a View sees a change at
// sequence n, it sees every change below n that will ever commit; a change
// still uncommitted below a visible one would be skipped for good by a
// pull that moved its cursor past it. bbolt gives this since sequence
// numbers are taken by the one writer; a SQL backend takes them under a
// lock held until commit (pgstore serialises its writers on an advisory
// lock), never from a free-running sequence object.
//
// Stored values come back byte for byte: records, changes, settings, refs,
// evidence. A pull passes stored record JSON through to devices untouched,
// so a backend keeps bytes (bbolt values, SQL bytea or json), never a form
// that re-encodes them (jsonb reorders keys, drops duplicate keys and
// rewrites escapes). Times keep at least their microseconds.
//
// Order: every list comes back in a defined order, described at each
// method: keys compare as bytes (SQL: COLLATE "C"), sequence numbers as
// numbers. Paging with After continues strictly after the given key in
// that same order, across districts too.
type Store interface {
	Update(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// Tx is one transaction. Getters return ErrNotFound for a missing key.
type Tx interface {
	SyncTx
	AuthTx
	DupTx
	AuditTx
	NoticeTx
}

// SyncTx holds records, the change log and conflicts.
type SyncTx interface {
	Record(id string) (*dsync.Record, error)
	// PutRecord stores rec and moves it in the feed from prevSeq (0 if new)
	// to rec.Seq.
	PutRecord(rec *dsync.Record, prevSeq uint64) error
	// NextSeq reserves the next sequence number of the change feed.
	NextSeq() (uint64, error)
	AppendChange(seq uint64, ch *dsync.Change) error
	ChangeBySeq(seq uint64) (*dsync.Change, error)
	// RecordChanges lists the sequence numbers of the changes to one record
	// that were accepted (AppendChange), in order: its history. A SQL
	// backend indexes its changes table by record.
	RecordChanges(record string) ([]uint64, error)
	// Result is what a change, by ID, was answered the first time.
	Result(changeID string) (*dsync.Result, error)
	PutResult(r *dsync.Result) error
	// DeviceCounter is the highest change counter seen from a device (0 if none).
	DeviceCounter(device string) (uint64, error)
	SetDeviceCounter(device string, n uint64) error
	Conflict(id string) (*dsync.Conflict, error)
	PutConflict(c *dsync.Conflict) error
	// Conflicts returns the conflicts q selects in ID order (across all its
	// districts, each once), up to q.Limit.
	Conflicts(q ConflictQuery) ([]dsync.Conflict, error)
	// Feed returns up to limit records of the given districts (nil: all)
	// whose Seq is above cursor, in Seq order, and whether more follow.
	Feed(districts []string, cursor uint64, limit int) (recs []dsync.Record, more bool, err error)
	// FeedRaw is Feed without decoding: each record as stored, for the pull
	// path, which passes records through to devices untouched.
	FeedRaw(districts []string, cursor uint64, limit int) (entries []FeedEntry, more bool, err error)
	// HighSeq is the highest sequence number given out.
	HighSeq() (uint64, error)
	// ForEachRecord calls fn for every record of a type ("" for all), in
	// record ID order, until fn returns an error.
	ForEachRecord(typ string, fn func(*dsync.Record) error) error
	// ScanRecords calls fn with every stored record of a type ("" for all)
	// as stored, in whatever order reads fastest (bbolt: ID order;
	// PostgreSQL: the table's, in one sequential scan), until fn returns
	// an error. A backend may also pass records of other types (the caller
	// decodes and filters); id and data are valid during the call only,
	// and fn must not use the transaction. DecodeAll and Scan use it.
	ScanRecords(typ string, fn func(id, data []byte) error) error
	// Ref resolves an external reference (an import's ref column) to a
	// record ID; PutRef sets it.
	Ref(key string) (string, error)
	PutRef(key, recordID string) error
	// Refs resolves many references at once (an import's batch): the
	// record IDs of those keys that have one, the others left out.
	Refs(keys []string) (map[string]string, error)
	District(code string) (*model.District, error)
	PutDistrict(d *model.District) error
	// Districts lists the districts table in code order.
	Districts() ([]model.District, error)
	// FeedDistricts lists, in order, the districts holding records whose
	// code starts with area.
	FeedDistricts(area string) ([]string, error)
}

// FeedEntry is one record of the feed in its stored JSON form.
type FeedEntry struct {
	Seq     uint64
	Deleted bool
	Record  json.RawMessage
}

// ConflictQuery selects conflicts; zero fields select everything.
type ConflictQuery struct {
	Districts []string // nil: all districts
	Status    dsync.ConflictStatus
	After     string // conflict ID to continue after
	Limit     int
}

// AuthTx holds accounts, enrolled devices, refresh tokens and settings.
type AuthTx interface {
	User(name string) (*User, error)
	PutUser(u *User) error
	// Users lists the accounts in name order.
	Users() ([]User, error)
	Device(id string) (*Device, error)
	PutDevice(d *Device) error
	// Devices lists the enrolled devices in ID order.
	Devices() ([]Device, error)
	// RefreshToken finds a refresh token of the older form (no family) by
	// its hash.
	RefreshToken(hash string) (*RefreshToken, error)
	PutRefreshToken(t *RefreshToken) error
	// DeleteRefreshToken removes a token of the older form; deleting a
	// missing one is no error (as every Delete here).
	DeleteRefreshToken(hash string) error
	// RefreshFamily is a session (a family of rotating refresh tokens) by
	// its ID; PutRefreshFamily stores one under t.Family.
	RefreshFamily(id string) (*RefreshToken, error)
	PutRefreshFamily(t *RefreshToken) error
	DeleteRefreshFamily(id string) error
	// DeleteRefreshTokens removes every refresh token and session of a device.
	DeleteRefreshTokens(device string) error
	// DeleteUserRefreshTokens removes every refresh token and session of a
	// user, but the session keep ("" for none).
	DeleteUserRefreshTokens(user, keep string) error
	// Setting is a small value by key, byte for byte as PutSetting stored it.
	Setting(key string) ([]byte, error)
	PutSetting(key string, value []byte) error
	DeleteSetting(key string) error
}

// AuditTx holds the audit log (package audit): entries in sequence order,
// never replaced or removed, each chained to the one before by its hash.
// audit.Append reads LastAudit and appends in the caller's transaction, so
// appends must be serialised as bbolt's write transactions are: a SQL
// backend keeps an audit_log table (seq primary key, time, actor, device,
// action, target, details, prev, hash) and locks its last row, or runs the
// transaction serialisable. It must keep every field as given (Time to the
// microsecond); details may be stored as jsonb, since the hash is over
// their canonical form.
type AuditTx interface {
	// AppendAudit stores e under e.Seq, which must be one above the last
	// entry's (1 for the first), or it returns ErrAuditSeq.
	AppendAudit(e *audit.Entry) error
	// AuditEntries returns up to limit entries (limit <= 0: all) with Seq
	// above after, in Seq order; a stored entry that cannot be decoded
	// ends the page with an *audit.UnreadableError.
	AuditEntries(after uint64, limit int) ([]audit.Entry, error)
	// LastAudit is the entry with the highest Seq, or nil if the log is empty.
	LastAudit() (*audit.Entry, error)
}

// Role is what a user may do.
type Role string

// Roles.
const (
	RoleRegistrar   Role = "registrar"   // registers voters in their districts from a device
	RoleCoordinator Role = "coordinator" // reviews conflicts and duplicates in their districts
	RoleAdmin       Role = "admin"       // manages users and devices; every district
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	return r == RoleRegistrar || r == RoleCoordinator || r == RoleAdmin
}

// User is an account.
type User struct {
	Name         string    `json:"name"`
	Role         Role      `json:"role"`
	Districts    []string  `json:"districts,omitempty"` // scope (分片包干); admins have all
	FullName     string    `json:"full_name,omitempty"` // the person's name as colleagues know it (shown in the console)
	PasswordHash []byte    `json:"password_hash"`
	Disabled     bool      `json:"disabled,omitempty"`
	Created      time.Time `json:"created"`
	// MustChangePassword is set for a one-time password (the first
	// start's admin, a generated or reset one): signing in with it only
	// allows changing it.
	MustChangePassword bool      `json:"must_change_password,omitempty"`
	PasswordChanged    time.Time `json:"password_changed,omitzero"`

	resolved []string // Districts with its areas' districts, set by ResolveScope
}

// InScope reports whether the user may read and write records of district.
// Scopes are code prefixes: an entry covers every district whose code
// begins with it, so a town's or a county's code (9 or 6 digits) covers its
// villages, communities and work-unit districts, whatever their length, and
// one new to the server too. An entry may also be an area asked for as a
// whole (a ?district= filter): it is in scope if an entry is its prefix.
func (u *User) InScope(district string) bool {
	if u.Role == RoleAdmin {
		return true
	}
	for _, d := range u.Districts {
		if d != "" && strings.HasPrefix(district, d) {
			return true
		}
	}
	return false
}

// Scope is the district filter for the user's reads: nil means all. It
// must have been resolved (ResolveScope) to name every district.
func (u *User) Scope() []string {
	switch {
	case u.Role == RoleAdmin:
		return nil
	case u.resolved != nil:
		return u.resolved
	}
	return u.Districts
}

// ResolveScope finds the districts holding records whose code begins with
// one of the user's scope entries, so Scope names them for the user's
// reads. Districts keeps the entries: a district new to the server is still
// in scope to write (InScope).
func ResolveScope(tx SyncTx, u *User) error {
	if u.Role == RoleAdmin {
		return nil
	}
	scope, err := DistrictsUnder(tx, u.Districts)
	if err != nil {
		return err
	}
	for _, d := range u.Districts {
		if !slices.Contains(scope, d) {
			scope = append(scope, d) // a district with no records yet
		}
	}
	u.resolved = scope
	return nil
}

// DistrictsUnder lists, each once, the districts holding records whose code
// begins with one of prefixes.
func DistrictsUnder(tx SyncTx, prefixes []string) ([]string, error) {
	out := []string{}
	for _, p := range prefixes {
		ds, err := tx.FeedDistricts(p)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			if !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
	}
	return out, nil
}

// Device is a phone or tablet enrolled to a user.
type Device struct {
	ID       string    `json:"id"`
	User     string    `json:"user"`
	Name     string    `json:"name,omitempty"`
	Enrolled time.Time `json:"enrolled"`
	LastSeen time.Time `json:"last_seen,omitempty"`
	Revoked  time.Time `json:"revoked,omitzero"`
}

// IsRevoked reports whether the device's tokens have been withdrawn.
func (d *Device) IsRevoked() bool { return !d.Revoked.IsZero() }

// RefreshToken is a long-lived credential, stored by the hash of its secret.
// With a Family it is a session: one sign-in on one device, whose token
// rotates at each refresh (Hash is the current one's) and which ends at
// Expires whatever the rotations.
type RefreshToken struct {
	Hash    string    `json:"hash"`
	User    string    `json:"user"`
	Device  string    `json:"device,omitempty"`
	Expires time.Time `json:"expires"`

	Family   string    `json:"family,omitempty"`
	Created  time.Time `json:"created,omitzero"`   // the sign-in
	Previous string    `json:"previous,omitempty"` // hash of the token rotated out last
	Rotated  time.Time `json:"rotated,omitzero"`   // when; the current pair was issued then
	Replayed bool      `json:"replayed,omitempty"` // the previous token was presented again once
}

// DupTx holds the cases of the central duplicate check (不重). A case is kept
// as one row plus one row per member, so a SQL backend stores it as a
// dup_cases table (evidence as JSON) and a dup_case_members table
// (case_id, record_id, district) indexed by district.
type DupTx interface {
	DupCase(id string) (*DupCase, error)
	// PutDupCase stores c, replacing a case with its ID (and its members).
	PutDupCase(c *DupCase) error
	DeleteDupCase(id string) error
	// DupCases returns the cases that q selects, in ID order.
	DupCases(q DupCaseQuery) ([]DupCase, error)
}

// DupStatus is where a duplicate case stands with the people who review it.
type DupStatus string

// Duplicate case statuses. A run changes only open cases.
const (
	DupOpen      DupStatus = "open"
	DupConfirmed DupStatus = "confirmed" // same person; Keep is the registration kept
	DupRejected  DupStatus = "rejected"  // different people; never proposed again
)

// DupMember is one registration of a duplicate case.
type DupMember struct {
	Record   string `json:"record"`
	District string `json:"district"`
}

// DupCase is a suspected duplicate: registrations the engine believes are
// one person, and what a coordinator decided about them.
type DupCase struct {
	ID       string      `json:"id"`
	Members  []DupMember `json:"members"`  // by record ID
	Decision string      `json:"decision"` // the engine's proposal: auto or review
	Status   DupStatus   `json:"status"`
	Score    float64     `json:"score"`          // weakest posterior log2-odds of its links
	Keep     string      `json:"keep,omitempty"` // record kept (suggested while open)
	// Evidence is the engine's scored links between members, as JSON.
	Evidence  json.RawMessage `json:"evidence,omitempty"`
	Found     time.Time       `json:"found"` // when a run first proposed it
	DecidedBy string          `json:"decided_by,omitempty"`
	DecidedAt time.Time       `json:"decided_at,omitzero"`
}

// Records lists the member record IDs.
func (c *DupCase) Records() []string {
	out := make([]string, len(c.Members))
	for i, m := range c.Members {
		out[i] = m.Record
	}
	return out
}

// Districts lists the members' districts, each once.
func (c *DupCase) Districts() []string {
	var out []string
	for _, m := range c.Members {
		if !slices.Contains(out, m.District) {
			out = append(out, m.District)
		}
	}
	return out
}

// DupCaseQuery selects duplicate cases; zero fields select everything.
type DupCaseQuery struct {
	Districts []string // nil: all; else cases with a member in any of them
	Status    DupStatus
	After     string // case ID to continue after
	Limit     int
}

// RunLocker is a store that several server processes share (pgstore): a
// job that must run on one of them at a time, such as the duplicate
// check, takes a lock by name. TryLock answers at once; ok is false while
// another process (or another caller here) holds it. The lock lasts until
// unlock is called or the process holding it ends. A store only one
// process opens (bbolt's file lock sees to it) needs none.
type RunLocker interface {
	TryLock(ctx context.Context, name string) (unlock func(), ok bool, err error)
}

// NoticeTx holds the notices to registrars (package dedupjob writes them):
// a registration of their districts is in a suspected duplicate case. Each
// put gives the notice the next number of a sequence of their own, so a
// device reads what is new or changed above its cursor, like the feed. A
// SQL backend keeps a notices table (id primary key, seq unique, district,
// the notice as JSON) indexed by (district, seq).
type NoticeTx interface {
	Notice(id string) (*dsync.Notice, error)
	// PutNotice stores n under n.ID, replacing a notice with its ID, with
	// n.Seq set to the next number of the notices' sequence.
	PutNotice(n *dsync.Notice) error
	// Notices returns up to limit notices of the given districts (nil:
	// all) whose Seq is above after, in Seq order, and whether more follow.
	Notices(districts []string, after uint64, limit int) (ns []dsync.Notice, more bool, err error)
}
