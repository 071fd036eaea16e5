package sdk

import (
	"context"
	"time"

	dsync "github.com/dengji/dengji/sync"
)

// Push sends every pending change without pulling, e.g. on a metered
// connection. Like Sync, it runs alone.
func (d *Device) Push(ctx context.Context) (SyncReport, error) {
	return d.exclusive(ctx, d.push)
}

// Pull fetches the server's state without pushing. Pending local edits stay
// on top of what it brings.
func (d *Device) Pull(ctx context.Context) (SyncReport, error) {
	return d.exclusive(ctx, d.pull)
}

// exclusive runs one sync operation, alone. Tokens just moved out of the
// device file are exchanged first, so the copies left in its free pages are
// worth nothing.
func (d *Device) exclusive(ctx context.Context, fn func(context.Context, *SyncReport) error) (SyncReport, error) {
	if !d.syncing.TryLock() {
		return SyncReport{}, ErrSyncInProgress
	}
	defer d.syncing.Unlock()
	start := time.Now()
	rep := SyncReport{Pushed: map[dsync.Status]int{}}
	err := d.rotateMovedTokens(ctx)
	if err == nil {
		err = fn(ctx, &rep)
	}
	rep.Duration = time.Since(start)
	return rep, err
}
