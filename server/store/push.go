package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

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

// PushRequest is one device's batch of changes, already authenticated.
type PushRequest struct {
	Device   string
	Author   string
	Changes  []dsync.Change
	Validate Validator // nil: no model validation
}

// Push merges a batch in one transaction and answers one result per change, in
// the order given. A change seen before (by ID) is answered "duplicate" with
// its first result, and nothing is applied twice. From the first change whose
// counter the device already used (see dsync.CounterReused), every later new
// change of the batch is refused the same way, so none overtakes the changes
// the device must number again.
func Push(ctx context.Context, s Store, req PushRequest) ([]dsync.Result, error) {
	order := counterOrder(req.Changes)
	results := make([]dsync.Result, len(req.Changes))
	err := s.Update(ctx, func(tx Tx) error {
		var reused *dsync.Result
		for _, i := range order {
			ch := req.Changes[i]
			r, err := pushOne(tx, &req, &ch, reused)
			if err != nil {
				return fmt.Errorf("push change %d: %w", i, err)
			}
			if r.Code == dsync.CodeCounterReused {
				reused = r
			}
			results[i] = *r
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
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
// change comes back under a new counter and is then taken.
func pushOne(tx Tx, req *PushRequest, ch *dsync.Change, reused *dsync.Result) (*dsync.Result, error) {
	prev, err := tx.Result(ch.ID)
	switch {
	case err == nil:
		dup := *prev
		dup.Status = dsync.StatusDuplicate
		return &dup, nil
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
	if err != nil || r.Code == dsync.CodeCounterReused {
		return r, err
	}
	if err := tx.PutResult(r); err != nil {
		return nil, err
	}
	return r, nil
}

func apply(tx Tx, req *PushRequest, ch *dsync.Change) (*dsync.Result, error) {
	if ch.Device != req.Device {
		return rejected(ch, dsync.CodeWrongDevice, "change was made by another device"), nil
	}
	if req.Device == ServerDevice {
		high, err := tx.HighSeq()
		if err != nil {
			return nil, err
		}
		ch.Counter = high + 1
	} else if r, err := checkCounter(tx, ch); r != nil || err != nil {
		return r, err
	}
	cur, err := tx.Record(ch.Record)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	next, out := dsync.Merge(cur, ch)
	if out.Status == dsync.StatusRejected {
		return rejected(ch, out.Code, out.Reason), nil
	}
	if out.Changed && !next.Deleted() && req.Validate != nil {
		if verr := req.Validate(tx, next); verr != nil {
			r := rejected(ch, dsync.CodeValidation, verr.Error())
			if d, ok := verr.(interface{ Details() json.RawMessage }); ok {
				r.Details = d.Details()
			}
			return r, nil
		}
	}
	return commit(tx, cur, next, ch, out)
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
	return nil, tx.SetDeviceCounter(ch.Device, ch.Counter)
}

func commit(tx Tx, cur, next *dsync.Record, ch *dsync.Change, out dsync.Outcome) (*dsync.Result, error) {
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
