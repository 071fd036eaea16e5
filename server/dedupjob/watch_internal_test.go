package dedupjob

import (
	"context"
	"testing"
	"time"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore/bolttest"
	dsync "github.com/dengji/dengji/sync"
)

// The oldest wait is counted from when the watcher first saw a record
// commit, and ends when the records are matched.
func TestStatus_OldestWait(t *testing.T) {
	ctx := context.Background()
	st := bolttest.Open(t)
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	opt := DefaultOptions()
	opt.Now = func() time.Time { return now }
	j := New(st, opt)
	push := func(id string) {
		reg := model.Registration{Name: "李碧辉", Gender: "F", BirthDate: "1990-01-02", IDNumber: "430102199001021241"}
		ch := dsync.Change{ID: "c-" + id, Device: store.ServerDevice, Record: id, Type: model.TypeRegistration,
			District: "430102001001", Op: dsync.OpCreate, Set: reg.Fields(), Base: map[string]string{},
			HLC: dsync.MakeHLC(now.UnixMilli(), 0)}
		if _, err := store.Push(ctx, st, store.PushRequest{Device: store.ServerDevice, Changes: []dsync.Change{ch}}); err != nil {
			t.Fatal(err)
		}
	}
	status := func() Status {
		t.Helper()
		s, err := j.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	push("r1")
	if !j.due(ctx) {
		t.Fatal("a record waits, and the watcher does not see it")
	}
	now = now.Add(3 * time.Second)
	push("r2")
	j.due(ctx)
	now = now.Add(2 * time.Second)
	if s := status(); s.Backlog != 2 || s.Changes != 2 || s.OldestSeconds != 5 {
		t.Errorf("two records waiting: backlog %d, changes %d, oldest %.1f s (want 2, 2, 5)", s.Backlog, s.Changes, s.OldestSeconds)
	}
	if _, err := j.RunIncremental(ctx); err != nil {
		t.Fatal(err)
	}
	if s := status(); s.Backlog != 0 || s.Changes != 0 || s.OldestSeconds != 0 || j.due(ctx) {
		t.Errorf("after the run: backlog %d, oldest %.1f s", s.Backlog, s.OldestSeconds)
	}
}

// A short pass waits out the interval; a long one waits as long again as
// it took (watchDuty 0.5), and never more than watchMaxWait intervals.
func TestNextPass(t *testing.T) {
	every := 500 * time.Millisecond
	for _, c := range []struct{ took, want time.Duration }{
		{0, every},
		{100 * time.Millisecond, 400 * time.Millisecond},
		{300 * time.Millisecond, 300 * time.Millisecond},
		{time.Second, time.Second},
		{time.Minute, 2 * time.Second}, // the first pass rebuilding the index
	} {
		if got := nextPass(every, c.took); got != c.want {
			t.Errorf("after a pass of %v: wait %v, want %v", c.took, got, c.want)
		}
	}
}
