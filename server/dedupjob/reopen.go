package dedupjob

import (
	"context"
	"time"

	"github.com/dengji/dengji/server/audit"
	"github.com/dengji/dengji/server/store"
)

// Reopen puts a confirmed or rejected case back in the queue, open again,
// with the reason in the audit log (written in the same transaction). What
// the earlier decision did to registrations stays: one marked removed as
// registered elsewhere is restored by a person's edit, not by reopening.
// r.Allow, if set, sees the case before anything is written.
func Reopen(ctx context.Context, st store.Store, r store.Reopen, allow func(*store.DupCase) error) (*store.DupCase, error) {
	if err := store.CheckReason(r.Reason); err != nil {
		return nil, err
	}
	ctx = audit.As(ctx, r.By)
	var c *store.DupCase
	err := st.Update(ctx, func(tx store.Tx) error {
		var err error
		if c, err = tx.DupCase(r.ID); err != nil {
			return err
		}
		if allow != nil {
			if err := allow(c); err != nil {
				return err
			}
		}
		if c.Status == store.DupOpen {
			return store.ErrNotDecided
		}
		if err := audit.Append(ctx, tx, audit.DuplicateReopened, c.ID, audit.D{"was": c.Status, "keep": c.Keep,
			"by": c.DecidedBy, "districts": c.Districts(), "reason": r.Reason}); err != nil {
			return err
		}
		c.Status, c.DecidedBy, c.DecidedAt = store.DupOpen, "", time.Time{}
		return tx.PutDupCase(c)
	})
	return c, err
}
