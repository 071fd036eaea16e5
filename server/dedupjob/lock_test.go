package dedupjob_test

import (
	"errors"
	"testing"

	"github.com/dengji/dengji/server/dedupjob"
	"github.com/dengji/dengji/server/store/pgstore"
	"github.com/dengji/dengji/server/store/pgstore/pgtest"
)

// TestJob_OneRunAcrossServers: two servers on one PostgreSQL database
// (each store with a pool of its own) run the duplicate check one at a
// time: while one holds the run, the other's full, incremental and
// background runs are ErrRunning; once it ends, the other runs.
func TestJob_OneRunAcrossServers(t *testing.T) {
	u := pgtest.URL(t)
	open := func() *pgstore.Store {
		st, err := pgstore.Open(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	a, b := open(), open()
	unlock, ok, err := a.TryLock(ctx, "dedup") // server a's run under way
	if err != nil || !ok {
		t.Fatalf("take the run: %v %v", ok, err)
	}
	job := dedupjob.New(b, options())
	if _, err := job.Run(ctx); !errors.Is(err, dedupjob.ErrRunning) {
		t.Fatalf("full run beside another server's: %v", err)
	}
	if _, err := job.RunIncremental(ctx); !errors.Is(err, dedupjob.ErrRunning) {
		t.Fatalf("incremental run beside another server's: %v", err)
	}
	if err := job.Start(ctx, false); !errors.Is(err, dedupjob.ErrRunning) {
		t.Fatalf("background run beside another server's: %v", err)
	}
	unlock()
	if _, err := job.Run(ctx); err != nil {
		t.Fatalf("run after the other ended: %v", err)
	}
	if _, err := job.Run(ctx); err != nil {
		t.Fatalf("a second run after the first released the lock: %v", err)
	}
}
