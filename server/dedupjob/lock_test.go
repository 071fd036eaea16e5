package dedupjob_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dengji/dengji/server/dedup"
	"github.com/dengji/dengji/server/dedup/gen"
	"github.com/dengji/dengji/server/dedupjob"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/pgstore"
	"github.com/dengji/dengji/server/store/pgstore/pgtest"
)

// TestJob_OneRunAcrossServers: two servers on one PostgreSQL database
// (each store with a pool of its own) run the duplicate check one at a
// time: while one holds the run, the other's full, incremental and
// background runs are ErrRunning; once it ends, the other runs.
func TestJob_OneRunAcrossServers(t *testing.T) {
	a, b := twoServers(t)
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

// twoServers opens two stores on one fresh PostgreSQL schema, each with a
// pool of its own, as two servers would.
func twoServers(t *testing.T) (a, b *pgstore.Store) {
	u := pgtest.URL(t)
	open := func() *pgstore.Store {
		st, err := pgstore.Open(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	return open(), open()
}

// TestJob_OneWatcherAcrossServers: of two servers on one PostgreSQL
// database matching continuously, one matches: the other's watcher waits
// (it builds no index, and its runs are ErrRunning) while the first holds
// the run lock, and takes over when the first stops, rebuilding the index
// from the store and matching what arrives after.
func TestJob_OneWatcherAcrossServers(t *testing.T) {
	a, b := twoServers(t)
	recs, _ := gen.Generate(gen.DefaultConfig(300, 7))
	dev := &device{id: "dev1"}
	dev.push(t, a, recs...)
	ja, jb := dedupjob.New(a, options()), dedupjob.New(b, options())
	stopA := watch(ja)
	defer stopA()
	waitFor(t, "server a's first run", func() bool {
		s, err := ja.Status(ctx)
		return err == nil && s.Continuous && s.Indexed == 300
	})
	stopB := watch(jb)
	defer stopB()

	pushDuplicate(t, a, dev, recs[0], "new-1", "430102001098")
	waitFor(t, "server a matching the duplicate", func() bool {
		s, err := ja.Status(ctx)
		return err == nil && s.Indexed == 301 && len(cases(t, a, store.DupCaseQuery{Districts: []string{"430102001098"}})) == 1
	})
	if s, err := jb.Status(ctx); err != nil || s.Continuous || s.Indexed != 0 || !s.Standby {
		t.Fatalf("server b matched beside server a, or did not say it stands by: %+v %v", s, err)
	}
	if s, err := ja.Status(ctx); err != nil || s.Standby {
		t.Fatalf("server a, which matches, says it stands by: %+v %v", s, err)
	}
	if _, err := jb.RunIncremental(ctx); !errors.Is(err, dedupjob.ErrRunning) {
		t.Fatalf("server b's incremental run while server a watches: %v", err)
	}

	stopA()
	waitFor(t, "server b taking over", func() bool {
		s, err := jb.Status(ctx)
		return err == nil && s.Continuous && s.Indexed == 301 && !s.Standby
	})
	pushDuplicate(t, b, dev, recs[1], "new-2", "430102001099")
	waitFor(t, "server b matching the next duplicate", func() bool {
		return len(cases(t, b, store.DupCaseQuery{Districts: []string{"430102001099"}})) == 1
	})
	if _, err := ja.RunIncremental(ctx); !errors.Is(err, dedupjob.ErrRunning) {
		t.Fatalf("server a's incremental run while server b watches: %v", err)
	}
}

// watch runs job.Watch until the returned stop, which waits for it to end
// (and may be called again).
func watch(job *dedupjob.Job) (stop func()) {
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { job.Watch(wctx, 20*time.Millisecond); close(done) }()
	return func() { cancel(); <-done }
}

// pushDuplicate registers src again under another ID in another district.
func pushDuplicate(t *testing.T, st store.Store, dev *device, src dedup.Record, id, district string) {
	dup := src
	dup.ID, dup.Ref, dup.District, dup.Phone = id, id, district, ""
	dev.push(t, st, dup)
}
