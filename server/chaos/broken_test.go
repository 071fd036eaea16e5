package chaos

import (
	"context"
	"errors"
	"regexp"
	"strconv"
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
	cfg := Config{Runs: 40, Seed: 11, Backend: broken, Dir: t.TempDir(), Parallel: 2, MaxShrinkRuns: 100}
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

	replay := Config{Runs: 1, Seed: f.Seed, Only: f.Steps, Faults: f.Faults, NoShrink: true, Dir: t.TempDir()}
	replay.Backend = broken
	if _, err := Run(context.Background(), replay); !errors.As(err, new(*Failure)) {
		t.Fatalf("the shrunk steps do not fail again: %v", err)
	}
	replay.Backend = func(dir string) Backend { return &InProcess{Dir: dir} }
	if _, err := Run(context.Background(), replay); err != nil {
		t.Fatalf("the real merge fails the same steps: %v", err)
	}
}

// dropsWrites is a store broken on purpose: it answers every change but
// does not write the record of one in fifty that set an address (a fake:
// no real fault loses a committed write). The run's values are numbered,
// so which writes it drops follows from the steps, and a shrunk run
// replays.
type dropsWrites struct{ store.Store }

func (s dropsWrites) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error { return fn(dropsWritesTx{tx}) })
}

type dropsWritesTx struct{ store.Tx }

var addressNumber = regexp.MustCompile(`水塘垸(\d+)号`)

func (tx dropsWritesTx) PutRecord(rec *dsync.Record, prevSeq uint64) error {
	if m := addressNumber.FindSubmatch(rec.Fields["residence_address"].Value); m != nil {
		if n, _ := strconv.Atoi(string(m[1])); n%50 == 1 && rec.Version("residence_address") == rec.Version("phone") {
			return nil // the write of the change that set this address, lost
		}
	}
	return tx.Tx.PutRecord(rec, prevSeq)
}

// Against a store that loses one write in fifty the harness reports the
// lost change and shrinks the run to the create and the sync that lose it.
func TestChaos_CatchesLostWrite(t *testing.T) {
	broken := func(dir string) Backend {
		return &InProcess{Dir: dir, Wrap: func(st store.Store) store.Store { return dropsWrites{st} }}
	}
	_, err := Run(context.Background(), Config{Runs: 10, Seed: 1, Backend: broken, Dir: t.TempDir(), Parallel: 2})
	var f *Failure
	if !errors.As(err, &f) {
		t.Fatalf("the harness did not catch a store that loses writes: %v", err)
	}
	t.Log(f)
	if !strings.Contains(strings.Join(f.Problems, "\n"), "which the server does not hold") {
		t.Fatalf("the failure does not name the lost write: %v", f.Problems)
	}
	if len(f.Steps) > 4 {
		t.Fatalf("not shrunk: %d of %d steps", len(f.Steps), len(f.Plan.Ops))
	}
}
