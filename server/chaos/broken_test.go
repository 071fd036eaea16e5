package chaos

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// laterWins is a store broken on purpose: when the merge finds two
// concurrent writes of one field it stores no conflict and lets the later
// write overwrite the first, silently. It is a fake because no real fault
// can make the merge do that; it stands for the bug the harness exists to
// catch.
type laterWins struct{ store.Store }

func (s laterWins) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error { return fn(laterWinsTx{tx}) })
}

type laterWinsTx struct{ store.Tx }

func (tx laterWinsTx) PutConflict(c *dsync.Conflict) error {
	if c.Kind != dsync.KindField || c.Status == dsync.ConflictResolved {
		return tx.Tx.PutConflict(c)
	}
	rec, err := tx.Record(c.Record)
	if err != nil {
		return err
	}
	f := rec.Fields[c.Field]
	f.Value, f.Version = c.Other.Value, c.Other.Change
	rec.Fields[c.Field] = f
	return tx.PutRecord(rec, rec.Seq)
}

// The harness can fail: against a merge that lets the later write win
// silently it reports the lost write, shrinks the run to a handful of steps,
// and the printed steps replay the failure, which the real server passes.
func TestChaos_CatchesLaterWriteWinning(t *testing.T) {
	broken := func(dir string) Backend {
		return &InProcess{Dir: dir, Wrap: func(st store.Store) store.Store { return laterWins{st} }}
	}
	cfg := Config{Runs: 40, Seed: 7, Backend: broken, Dir: t.TempDir(), Parallel: 2}
	_, err := Run(context.Background(), cfg)
	var f *Failure
	if !errors.As(err, &f) {
		t.Fatalf("the harness did not catch a merge that loses writes: %v", err)
	}
	t.Log(f)
	if !strings.Contains(strings.Join(f.Problems, "\n"), "overwritten silently") {
		t.Fatalf("the failure does not name the lost write: %v", f.Problems)
	}
	if len(f.Steps) > 12 || len(f.Steps) >= len(f.Plan.Ops) {
		t.Fatalf("not shrunk: %d of %d steps", len(f.Steps), len(f.Plan.Ops))
	}
	if !strings.Contains(f.Replay, "--only") {
		t.Fatalf("no replay command: %q", f.Replay)
	}

	replay := Config{Runs: 1, Seed: f.Seed, Only: f.Steps, NoShrink: true, Dir: t.TempDir()}
	replay.Backend = broken
	if _, err := Run(context.Background(), replay); !errors.As(err, new(*Failure)) {
		t.Fatalf("the shrunk steps do not fail again: %v", err)
	}
	replay.Backend = func(dir string) Backend { return &InProcess{Dir: dir} }
	if _, err := Run(context.Background(), replay); err != nil {
		t.Fatalf("the real merge fails the same steps: %v", err)
	}
}
