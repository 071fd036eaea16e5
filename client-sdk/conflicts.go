package sdk

import (
	"context"
	"fmt"
	"net/http"
	"time"

	dsync "github.com/dengji/dengji/sync"
	"go.etcd.io/bbolt"
)

// statusBatch is how many conflict IDs one status request names (the
// server's bound).
const statusBatch = 1000

// conflictSweep is how often a device asks about every conflict it holds
// open. Between sweeps it asks only about those whose record changed since
// it last asked: a decision that changes the record reaches the device as a
// change of it, pulled. A decision that keeps the record as it is ("kept")
// changes nothing on the device but the conflict's status, which the next
// sweep brings.
const conflictSweep = 24 * time.Hour

// refreshConflicts asks the server about the conflicts open on this device
// whose records changed since it last asked (all of them once every
// conflictSweep) and keeps the coordinators' decisions, so the app can show
// the registrar how each of their contested edits ended. The decided values
// themselves arrive with the pull, as record changes.
func (d *Device) refreshConflicts(ctx context.Context, rep *SyncReport, all bool) error {
	now := d.opts.Now()
	ask, open, cursor, sweep, err := d.conflictsToAsk(now, all)
	if err != nil || open == 0 {
		return err
	}
	for start := 0; start < len(ask); start += statusBatch {
		ids := ask[start:min(len(ask), start+statusBatch)]
		var resp struct {
			Conflicts []dsync.Conflict `json:"conflicts"`
		}
		// Compressed, and answered with the decided ones only: most stay
		// open from one sync to the next.
		req := request{method: http.MethodPost, path: "/v1/conflicts/status", gzip: true,
			body: map[string]any{"ids": ids, "decided_only": true}, auth: true}
		if err := d.call(ctx, req, &resp); err != nil {
			return fmt.Errorf("conflict status: %w", err)
		}
		if err := d.storeDecisions(resp.Conflicts, rep); err != nil {
			return fmt.Errorf("store conflict status: %w", err)
		}
	}
	return d.conflictsAsked(cursor, sweep, now)
}

// RecheckConflicts asks the server now about every conflict open on this
// device, as the daily sweep does: a decision that kept the record as it
// was changes nothing a sync pulls, so without it such a decision reaches
// the device within a day (conflictSweep). An app offers it where the
// registrar looks at their conflicts. It returns how many it learnt were
// decided.
func (d *Device) RecheckConflicts(ctx context.Context) (int, error) {
	var rep SyncReport
	err := d.refreshConflicts(ctx, &rep, true)
	return rep.Resolved, err
}

// conflictsToAsk lists the open conflicts to ask about: all of them if a
// sweep is due or all is set, else those whose record the device holds at a sequence
// above the pull cursor of the last ask. It returns how many are open, and
// the pull cursor now.
func (d *Device) conflictsToAsk(now time.Time, all bool) (ids []string, open int, cursor uint64, sweep bool, err error) {
	err = d.db.View(func(tx *bbolt.Tx) error {
		cursor = getU64Tx(tx, keyCursor)
		asked := getU64Tx(tx, keyConflictsCursor)
		swept := time.UnixMilli(int64(getU64Tx(tx, keyConflictsSwept)))
		sweep = all || now.Sub(swept) >= conflictSweep || now.Before(swept)
		cs, err := listJSONTx[dsync.Conflict](tx, bucketConflicts)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if c.Status == dsync.ConflictResolved {
				continue
			}
			open++
			if !sweep {
				base, err := getRecordTx(tx, bucketBase, c.Record)
				if err != nil {
					return err
				}
				if base == nil || base.Seq <= asked {
					continue
				}
			}
			ids = append(ids, c.ID)
		}
		return nil
	})
	return ids, open, cursor, sweep, err
}

// conflictsAsked notes the pull cursor the device asked at, and the time
// of a sweep.
func (d *Device) conflictsAsked(cursor uint64, sweep bool, now time.Time) error {
	return d.db.Update(func(tx *bbolt.Tx) error {
		if sweep {
			if err := putU64Tx(tx, keyConflictsSwept, uint64(now.UnixMilli())); err != nil {
				return err
			}
		}
		if getU64Tx(tx, keyConflictsCursor) == cursor {
			return nil
		}
		return putU64Tx(tx, keyConflictsCursor, cursor)
	})
}

func (d *Device) storeDecisions(cs []dsync.Conflict, rep *SyncReport) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.db.Update(func(tx *bbolt.Tx) error {
		for i := range cs {
			if cs[i].Status != dsync.ConflictResolved {
				continue
			}
			if err := putJSONTx(tx, bucketConflicts, []byte(cs[i].ID), &cs[i]); err != nil {
				return err
			}
			rep.Resolved++
		}
		return nil
	})
}
