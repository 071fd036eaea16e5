package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	dsync "github.com/dengji/dengji/sync"
)

// ServerDevice is the device name on changes the server makes itself
// (imports, coordinators' decisions). It keeps no counter: Push numbers its
// changes with the sequence they are about to get, so callers leave
// Counter at 0.
const ServerDevice = "server"

// Validator checks a record as it would be after a change; a non-nil error
// rejects the change. An error with a Details() json.RawMessage method passes
// those details to the device.
type Validator func(tx SyncTx, rec *dsync.Record) error

// MaxCounterJump is how far above the highest counter the server has seen
// from a device a new change's counter may be. A device counts one by one;
// a counter near 2^64 would leave it no room to count on.
const MaxCounterJump = 1_000_000

// ErrClockSkew means a change's HLC is further ahead of the server's clock
// than PushRequest.MaxAhead allows; the batch was refused as a whole and
// nothing stored. Errors wrap it in a *ClockSkewError.
var ErrClockSkew = errors.New("store: change timestamp ahead of the server's clock")

// ClockSkewError is an ErrClockSkew with what the device needs to correct
// its clock.
type ClockSkewError struct{ dsync.ClockSkew }

func (e *ClockSkewError) Error() string {
	return fmt.Sprintf("%v: change %s at %s, server %s", ErrClockSkew, e.Change, e.HLC,
		time.UnixMilli(e.ServerTime).UTC().Format(time.RFC3339))
}

func (e *ClockSkewError) Unwrap() error { return ErrClockSkew }

// PushRequest is one device's batch of changes, already authenticated.
type PushRequest struct {
	Device   string
	Author   string
	Changes  []dsync.Change
	Validate Validator // nil: no model validation
	// InScope reports whether the author may see a district's records (nil:
	// every district). A change naming a district outside it is refused alone
	// (out_of_scope), the rest of the batch goes on; a change to a record
	// outside it is answered as if the record did not exist.
	InScope func(district string) bool
	// MayRestore lets the author make a coordinator's changes (op restore);
	// the server's own changes always may.
	MayRestore bool
	// MaxAhead bounds how far ahead of the server's clock a change's HLC may
	// be (0: no bound).
	MaxAhead time.Duration
	// Cursor, if set, is the device's pull cursor when it sent the batch:
	// a change applied to a state at or below it is marked Folded, and
	// left out of the device's pulls (see PullQuery.Device).
	Cursor *uint64
}

// Push merges a batch in one transaction and answers one result per change, in
// the order given. A change seen before (by ID) from the same device is
// answered "duplicate" with its first result, and nothing is applied twice;
// one seen from another device is refused (change_id_taken) without a word
// of its result, and so is an ID repeated within the batch (invalid_change).
// From the first change whose counter the device already used (see
// dsync.CounterReused), every later new change of the batch is refused the
// same way, so none overtakes the changes the device must number again.
// A change stamped more than MaxAhead ahead of the server's clock refuses
// the whole batch with a *ClockSkewError.
func Push(ctx context.Context, s Store, req PushRequest) ([]dsync.Result, error) {
	if err := checkClock(&req, time.Now()); err != nil {
		return nil, err
	}
	order := counterOrder(req.Changes)
	repeated := repeatedIDs(req.Changes)
	results := make([]dsync.Result, len(req.Changes))
	err := s.Update(ctx, func(tx Tx) error {
		if err := preload(tx, req.Changes); err != nil {
			return err
		}
		var reused *dsync.Result
		for _, i := range order {
			ch := req.Changes[i]
			if repeated[i] {
				results[i] = *rejected(&ch, dsync.CodeInvalidChange, "change ID repeated in the batch")
				continue
			}
			r, err := pushOne(tx, &req, &ch, reused)
			if err != nil {
				return fmt.Errorf("push change %d: %w", i, err)
			}
			if r.Code == dsync.CodeCounterReused {
				reused = r
			}
			results[i] = *r
			results[i].Device = "" // kept with the stored result, not sent
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// Preloader is a Tx whose reads cost a round trip to a database server
// (pgstore): Push tells it first which change results and records the
// batch will read, so it reads them in one query each.
type Preloader interface {
	Preload(changeIDs, recordIDs []string) error
}

func preload(tx Tx, chs []dsync.Change) error {
	p, ok := tx.(Preloader)
	if !ok {
		return nil
	}
	changeIDs, recordIDs := make([]string, len(chs)), make([]string, len(chs))
	for i := range chs {
		changeIDs[i], recordIDs[i] = chs[i].ID, chs[i].Record
	}
	return p.Preload(changeIDs, recordIDs)
}

// checkClock refuses a batch with a change stamped too far ahead of now.
func checkClock(req *PushRequest, now time.Time) error {
	if req.MaxAhead <= 0 {
		return nil
	}
	for i := range req.Changes {
		if ch := &req.Changes[i]; ch.HLC.Ahead(now, req.MaxAhead) {
			return &ClockSkewError{dsync.ClockSkew{ServerTime: now.UnixMilli(),
				MaxAhead: req.MaxAhead.Milliseconds(), Change: ch.ID, HLC: ch.HLC}}
		}
	}
	return nil
}

// repeatedIDs marks the changes whose ID an earlier change of the batch has.
func repeatedIDs(chs []dsync.Change) []bool {
	out := make([]bool, len(chs))
	seen := make(map[string]struct{}, len(chs))
	for i := range chs {
		if _, dup := seen[chs[i].ID]; dup {
			out[i] = true
		}
		seen[chs[i].ID] = struct{}{}
	}
	return out
}

// counterOrder gives the indexes of changes sorted by counter, so a batch sent
// out of order is still applied in the order the device made it.
func counterOrder(chs []dsync.Change) []int {
	idx := make([]int, len(chs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return chs[idx[a]].Counter < chs[idx[b]].Counter })
	return idx
}

// pushOne answers one change. After a counter_reused refusal in the batch
// (reused), new changes are refused alike. Such refusals are not stored: the
// change comes back under a new counter and is then taken. Nor are refusals
// of a change that names another device: its ID is not the pusher's to take.
func pushOne(tx Tx, req *PushRequest, ch *dsync.Change, reused *dsync.Result) (*dsync.Result, error) {
	prev, err := tx.Result(ch.ID)
	switch {
	case err == nil:
		return seenBefore(tx, req, ch, prev)
	case !errors.Is(err, ErrNotFound):
		return nil, err
	}
	if reused != nil && ch.Device == req.Device {
		r := *reused
		r.Change, r.Reason = ch.ID, "an earlier change of this batch reused a counter; number this one again after it"
		return &r, nil
	}
	ch.Author = req.Author
	r, err := apply(tx, req, ch)
	if err != nil || r.Code == dsync.CodeCounterReused || ch.Device != req.Device ||
		(req.Device != ServerDevice && !keyableID(ch.ID)) {
		return r, err
	}
	r.Device = req.Device
	if err := tx.PutResult(r); err != nil {
		return nil, err
	}
	return r, nil
}

// keyableID reports whether a device's change ID may key its stored
// result. An empty one, or one longer than a valid change's, is refused as
// invalid without being remembered: neither is a bbolt key (empty, or over
// its 32 KiB), and storing them failed the whole batch with a 500.
func keyableID(id string) bool { return id != "" && len(id) <= maxChangeIDLen }

// maxChangeIDLen is the longest change ID a valid change has
// (dsync.Change.Validate).
const maxChangeIDLen = 64

// seenBefore answers a change ID the server has a result for: the first
// answer again to the device that sent it, a refusal that says nothing of
// it to any other.
func seenBefore(tx Tx, req *PushRequest, ch *dsync.Change, prev *dsync.Result) (*dsync.Result, error) {
	owner := prev.Device
	if owner == "" && prev.Seq > 0 {
		// Stored before results named their device: the change log does.
		logged, err := tx.ChangeBySeq(prev.Seq)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if err == nil && logged.ID == ch.ID {
			owner = logged.Device
		}
	}
	if owner == "" || owner != req.Device {
		return rejected(ch, dsync.CodeChangeIDTaken, "another device sent a change with this ID; make a new ID"), nil
	}
	dup := *prev
	dup.Status = dsync.StatusDuplicate
	return &dup, nil
}

func apply(tx Tx, req *PushRequest, ch *dsync.Change) (*dsync.Result, error) {
	if req.InScope != nil && !req.InScope(ch.District) {
		return rejected(ch, dsync.CodeOutOfScope,
			"该变更的选区不在您负责的范围内 / the change's district is outside your scope"), nil
	}
	if ch.Device != req.Device {
		return rejected(ch, dsync.CodeWrongDevice, "change was made by another device"), nil
	}
	if req.Device == ServerDevice {
		high, err := tx.HighSeq()
		if err != nil {
			return nil, err
		}
		ch.Counter = high + 1
	} else {
		if err := ch.Validate(); err != nil {
			return rejected(ch, dsync.CodeInvalidChange, err.Error()), nil
		}
		if ch.Op == dsync.OpRestore && !req.MayRestore {
			return rejected(ch, dsync.CodeForbiddenOp, "only a coordinator's decision restores a deleted record"), nil
		}
		if r, err := checkCounter(tx, ch); r != nil || err != nil {
			return r, err
		}
	}
	cur, err := tx.Record(ch.Record)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if cur != nil && req.InScope != nil && !req.InScope(cur.District) {
		return notVisible(ch), nil
	}
	next, out := dsync.Merge(cur, ch)
	if out.Status == dsync.StatusRejected {
		return rejected(ch, out.Code, out.Reason), nil
	}
	if req.Validate != nil {
		if r := validated(tx, req, ch, next, out); r != nil {
			return r, nil
		}
	}
	return commit(tx, req, cur, next, ch, out)
}

// validated refuses a change whose record would break the validator's
// rules: the next state, and, when the change lost a conflict, the state it
// asked for, which a coordinator may still choose and which the conflict
// stores meanwhile. Nil lets the change through.
func validated(tx Tx, req *PushRequest, ch *dsync.Change, next *dsync.Record, out dsync.Outcome) *dsync.Result {
	check := func(rec *dsync.Record) *dsync.Result {
		if rec.Deleted() {
			return nil
		}
		verr := req.Validate(tx, rec)
		if verr == nil {
			return nil
		}
		r := rejected(ch, dsync.CodeValidation, verr.Error())
		if d, ok := verr.(interface{ Details() json.RawMessage }); ok {
			r.Details = d.Details()
		}
		return r
	}
	if out.Changed {
		if r := check(next); r != nil {
			return r
		}
	}
	if len(out.Conflicts) > 0 {
		asked := next.Clone()
		asked.Apply(ch)
		return check(asked)
	}
	return nil
}

// notVisible answers a change to a record the author may not see exactly as
// if the record did not exist, so its ID tells nothing. A create cannot be
// applied all the same; it gets the answer of a create whose record ID is
// in use with another type or district.
func notVisible(ch *dsync.Change) *dsync.Result {
	if ch.Op == dsync.OpCreate {
		return rejected(ch, dsync.CodeRecordMismatch, "type and district of a record never change")
	}
	return rejected(ch, dsync.CodeUnknownRecord, "the server has no record "+ch.Record)
}

// checkCounter refuses a counter the device already used for another change:
// a device restored from a backup must not overwrite what it sent before.
func checkCounter(tx Tx, ch *dsync.Change) (*dsync.Result, error) {
	hw, err := tx.DeviceCounter(ch.Device)
	if err != nil {
		return nil, err
	}
	if ch.Counter <= hw {
		r := rejected(ch, dsync.CodeCounterReused,
			fmt.Sprintf("counter %d was already used by this device (highest seen %d)", ch.Counter, hw))
		r.Details, _ = json.Marshal(dsync.CounterReused{High: hw})
		return r, nil
	}
	if ch.Counter-hw > MaxCounterJump {
		return rejected(ch, dsync.CodeInvalidChange,
			fmt.Sprintf("counter %d is too far above this device's highest, %d", ch.Counter, hw)), nil
	}
	return nil, tx.SetDeviceCounter(ch.Device, ch.Counter)
}

// held reports whether the pushing device holds the state at seq prev: its
// pull cursor had reached it, or it is the device's own change that it
// held the state of too (two edits of one record in a batch).
func (req *PushRequest) held(tx Tx, prev uint64) (bool, error) {
	if req.Cursor == nil {
		return false, nil
	}
	if prev <= *req.Cursor {
		return true, nil
	}
	ch, err := tx.ChangeBySeq(prev)
	if errors.Is(err, ErrNotFound) || (err == nil && ch.Device != req.Device) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	res, err := tx.Result(ch.ID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil && res.Seq == prev && res.Folded, err
}

func commit(tx Tx, req *PushRequest, cur, next *dsync.Record, ch *dsync.Change, out dsync.Outcome) (*dsync.Result, error) {
	r := &dsync.Result{Change: ch.ID, Status: out.Status, Applied: out.Applied}
	seq, err := tx.NextSeq()
	if err != nil {
		return nil, err
	}
	// Every accepted change enters the log, applied or not: it is the audit
	// trail, and a conflict's losing value must stay retrievable.
	if err := tx.AppendChange(seq, ch); err != nil {
		return nil, err
	}
	r.Seq = seq
	if out.Changed {
		var prevSeq uint64
		if cur != nil {
			prevSeq = cur.Seq
		}
		next.Seq = seq
		if err := tx.PutRecord(next, prevSeq); err != nil {
			return nil, err
		}
		if r.Folded, err = req.held(tx, prevSeq); err != nil {
			return nil, err
		}
	}
	for i := range out.Conflicts {
		c := &out.Conflicts[i]
		c.Seq = seq
		if err := fillBase(tx, c); err != nil {
			return nil, err
		}
		if err := tx.PutConflict(c); err != nil {
			return nil, err
		}
	}
	r.Conflicts = out.Conflicts
	return r, nil
}

// fillBase looks up the value the losing author saw, from the change log.
func fillBase(tx Tx, c *dsync.Conflict) error {
	if c.Base.Change == "" {
		return nil
	}
	res, err := tx.Result(c.Base.Change)
	if errors.Is(err, ErrNotFound) || (err == nil && res.Seq == 0) {
		return nil
	}
	if err != nil {
		return err
	}
	ch, err := tx.ChangeBySeq(res.Seq)
	if err != nil {
		return err
	}
	c.Base.Value = ch.Set[c.Field]
	c.Base.Device, c.Base.Author, c.Base.HLC = ch.Device, ch.Author, ch.HLC
	return nil
}

func rejected(ch *dsync.Change, code, reason string) *dsync.Result {
	return &dsync.Result{Change: ch.ID, Status: dsync.StatusRejected, Code: code, Reason: reason}
}
