package sdk

import (
	"context"
	"fmt"
	"net/http"

	dsync "github.com/dengji/dengji/sync"
	"go.etcd.io/bbolt"
)

// statusBatch is how many conflict IDs one status request names (the
// server's bound).
const statusBatch = 1000

// refreshConflicts asks the server about the conflicts still open on this
// device and keeps the coordinators' decisions, so the app can show the
// registrar how each of their contested edits ended. The decided values
// themselves arrive with the pull, as record changes.
func (d *Device) refreshConflicts(ctx context.Context, rep *SyncReport) error {
	open, err := d.openConflictIDs()
	if err != nil {
		return err
	}
	for start := 0; start < len(open); start += statusBatch {
		ids := open[start:min(len(open), start+statusBatch)]
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
	return nil
}

func (d *Device) openConflictIDs() ([]string, error) {
	cs, err := d.Conflicts()
	var ids []string
	for _, c := range cs {
		if c.Status != dsync.ConflictResolved {
			ids = append(ids, c.ID)
		}
	}
	return ids, err
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
