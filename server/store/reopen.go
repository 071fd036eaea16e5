package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/audit"
	dsync "github.com/dengji/dengji/sync"
)

// ErrNotDecided means a reopening names a conflict or case still open.
var ErrNotDecided = errors.New("store: not decided yet")

// ErrReason means a reopening came without a usable reason: one is required,
// at most MaxReasonLen characters, without control characters.
var ErrReason = errors.New("store: a reason is required (at most 200 characters, no control characters)")

// MaxReasonLen bounds the reason of a reopening, in characters.
const MaxReasonLen = 200

// CheckReason reports whether reason may be recorded with a reopening.
func CheckReason(reason string) error {
	if reason == "" || utf8.RuneCountInString(reason) > MaxReasonLen || !utf8.ValidString(reason) {
		return ErrReason
	}
	for _, r := range reason {
		if model.IsControl(r, false) {
			return ErrReason
		}
	}
	return nil
}

// Reopen is a person putting a decision back in the queue.
type Reopen struct {
	ID     string // the conflict's (or, in dedupjob, the case's)
	Reason string // why: recorded in the audit log
	By     string
	// Allow sees the conflict before anything is written (the caller's
	// scope); an error aborts the reopening.
	Allow func(*dsync.Conflict) error
}

// ReopenConflict puts a resolved conflict back in the queue, with its audit
// entry (the earlier choice and the reason) in the same transaction. The
// earlier resolution stays on the conflict, so the next decision knows what
// it replaces: choosing kept then writes the kept value back if the earlier
// decision had changed the record. The record is not changed by reopening.
func ReopenConflict(ctx context.Context, s Store, r Reopen) (*dsync.Conflict, error) {
	if err := CheckReason(r.Reason); err != nil {
		return nil, err
	}
	ctx = audit.As(ctx, r.By)
	var out *dsync.Conflict
	err := s.Update(ctx, func(tx Tx) error {
		c, err := tx.Conflict(r.ID)
		if err != nil {
			return err
		}
		if r.Allow != nil {
			if err := r.Allow(c); err != nil {
				return err
			}
		}
		if c.Status != dsync.ConflictResolved || c.Resolution == nil {
			return ErrNotDecided
		}
		if err := audit.Append(ctx, tx, audit.ConflictReopened, c.ID, audit.D{"record": c.Record,
			"district": c.District, "field": c.Field, "was": c.Resolution.Choice, "by": c.Resolution.By,
			"reason": r.Reason}); err != nil {
			return err
		}
		c.Status = dsync.ConflictOpen
		out = c
		return tx.PutConflict(c)
	})
	return out, err
}

// HistoryEntry is one accepted change of a record: who, from which device,
// when, and the fields it set.
type HistoryEntry struct {
	Seq    uint64
	Change *dsync.Change
}

// RecordHistory lists a record's changes, oldest first, in tx.
func RecordHistory(tx SyncTx, record string) ([]HistoryEntry, error) {
	seqs, err := tx.RecordChanges(record)
	if err != nil {
		return nil, err
	}
	out := make([]HistoryEntry, 0, len(seqs))
	for _, seq := range seqs {
		ch, err := tx.ChangeBySeq(seq)
		if err != nil {
			return nil, fmt.Errorf("store: history of %s: change %d: %w", record, seq, err)
		}
		out = append(out, HistoryEntry{Seq: seq, Change: ch})
	}
	return out, nil
}

// ErrEditRefused means a person's edit of a record was refused by the
// record model (e.g. an ID number that is not one): the error names the
// rejection code and reason, and nothing was written.
var ErrEditRefused = errors.New("store: edit refused")

// Edit is a coordinator's correction of a record's fields (the console's
// ID number correction on the verification list).
type Edit struct {
	Record string
	Set    map[string]json.RawMessage
	By     string
	// Allow sees the record before anything is written (the caller's
	// scope); an error aborts the edit.
	Allow    func(*dsync.Record) error
	Validate Validator
}

// EditRecord applies e as a server change made on the record as it is now
// (so it conflicts with nothing), validated like a device's, in one
// transaction; devices receive it at their next pull.
func EditRecord(ctx context.Context, s Store, e Edit) (*dsync.Result, error) {
	var out *dsync.Result
	err := s.Update(ctx, func(tx Tx) error {
		rec, err := tx.Record(e.Record)
		if err != nil {
			return err
		}
		if e.Allow != nil {
			if err := e.Allow(rec); err != nil {
				return err
			}
		}
		if rec.Deleted() {
			return ErrNotFound
		}
		ch, err := stampServerChange(&dsync.Change{Record: rec.ID, Type: rec.Type, District: rec.District,
			Op: dsync.OpUpdate, Set: e.Set, Base: map[string]string{}}, rec)
		if err != nil {
			return err
		}
		req := PushRequest{Device: ServerDevice, Author: e.By, Validate: e.Validate}
		if out, err = pushOne(tx, &req, ch, nil); err != nil {
			return err
		}
		if out.Status != dsync.StatusApplied {
			return fmt.Errorf("%w: %s %s", ErrEditRefused, out.Code, out.Reason)
		}
		return nil
	})
	return out, err
}
