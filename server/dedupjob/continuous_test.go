package dedupjob_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/dedup/gen"
	"github.com/dengji/dengji/server/dedupjob"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// After a restart, an incremental run over 10,000 new registrations does
// the work it would have done without the restart: it is no full run, its
// batch is the 10,000, and it scores no more pairs than the index that
// lived through. Both jobs match the same batch on the same store: the
// restarted one (a new Job keeps nothing in memory, like a new process)
// first, from the sequence the store keeps, then the one that lived, from
// its own.
func TestJob_RestartIsIncremental(t *testing.T) {
	const base, batch = 20000, 10000
	recs, _ := gen.Generate(gen.DefaultConfig(base+2*batch, 11))
	st := openStore(t)
	d := &device{id: "dev1"}
	for i := 0; i < base; i += 5000 {
		d.push(t, st, recs[i:i+5000]...)
	}
	lived := dedupjob.New(st, options())
	full, err := lived.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d.push(t, st, recs[base:base+batch]...)
	if sum, err := lived.RunIncremental(ctx); err != nil || sum.Full || sum.Records != batch {
		t.Fatalf("incremental run before the restart: %+v %v", sum, err)
	}
	d.push(t, st, recs[base+batch:base+batch+5000]...)
	d.push(t, st, recs[base+batch+5000:]...)

	restarted := dedupjob.New(st, options())
	if s, err := restarted.Status(ctx); err != nil || s.Indexed != 0 || s.Backlog != batch {
		t.Fatalf("status of the restarted job before its run: %+v %v", s, err)
	}
	after, err := restarted.RunIncremental(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Full || after.Records != batch || after.Compared == 0 {
		t.Fatalf("incremental run after the restart: %+v", after)
	}
	s, err := restarted.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Indexed != base+2*batch || s.Backlog != 0 || s.Last == nil || s.Last.Full {
		t.Errorf("status after the restart: %+v", s)
	}
	same, err := lived.RunIncremental(ctx)
	if err != nil || same.Full || same.Records != batch {
		t.Fatalf("the same batch through the index that lived: %+v %v", same, err)
	}
	t.Logf("pairs scored: full run over %d %d; the batch of %d %d after the restart, %d without", base,
		full.Compared, batch, after.Compared, same.Compared)
	if after.Compared > same.Compared {
		t.Errorf("after the restart the batch scored %d pairs, without a restart %d", after.Compared, same.Compared)
	}
	if after.New == 0 {
		t.Errorf("the restarted run found no new case: %+v", after)
	}
}

// Watch matches a registration pushed after the first run within seconds,
// and the registrar's district gets a notice naming the other district and
// nothing else of the other registration; a decision reaches the notice.
func TestJob_WatchNoticesTheRegistrar(t *testing.T) {
	st, recs, dev := rollStore(t, 300)
	src := recs[0]
	if err := st.Update(ctx, func(tx store.Tx) error {
		return tx.PutDistrict(&model.District{Code: src.District, Name: "水塘垸村", Kind: "village"})
	}); err != nil {
		t.Fatal(err)
	}
	job := dedupjob.New(st, options())
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { job.Watch(wctx, 20*time.Millisecond); close(done) }()
	defer func() { stop(); <-done }()
	waitFor(t, "the first run", func() bool {
		s, err := job.Status(ctx)
		return err == nil && s.Indexed == 300 && s.Continuous
	})

	const here = "430102001099"
	dup := src
	dup.ID, dup.Ref, dup.District, dup.Phone = "new-1", "new-1", here, ""
	dev.push(t, st, dup)
	var c store.DupCase
	waitFor(t, "the case", func() bool {
		for _, x := range cases(t, st, store.DupCaseQuery{Districts: []string{here}}) {
			if slices.Contains(x.Records(), src.ID) {
				c = x
				return true
			}
		}
		return false
	})
	ns := notices(t, st, []string{here}, 0)
	if len(ns) != 1 {
		t.Fatalf("notices of %s: %+v", here, ns)
	}
	n := ns[0]
	if n.Record != "new-1" || n.Case != c.ID || n.Strength != c.Decision || n.Status != "open" ||
		len(n.Elsewhere) != 1 || n.Elsewhere[0] != (dsync.NoticePlace{District: src.District, Name: "水塘垸村"}) ||
		!strings.HasPrefix(n.Message, "可能已在水塘垸村") || !strings.Contains(n.Message, "may already be registered in 水塘垸村") {
		t.Errorf("notice: %+v", n)
	}
	for _, secret := range []string{src.ID, src.Name, src.IDNumber, src.Phone, src.HouseholdAddress} {
		if secret != "" && strings.Contains(mustJSON(n), secret) {
			t.Errorf("the notice tells %q of the other registration: %s", secret, mustJSON(n))
		}
	}
	if other := notices(t, st, []string{src.District}, 0); len(other) != 0 {
		t.Errorf("the other district, whose registration is not new, got notices: %+v", other)
	}
	if _, err := dedupjob.Decide(ctx, st, dedupjob.Decision{Case: c.ID, Status: store.DupRejected, By: "wang"}); err != nil {
		t.Fatal(err)
	}
	ns = notices(t, st, []string{here}, n.Seq)
	if len(ns) != 1 || ns[0].ID != n.ID || ns[0].Status != "rejected" {
		t.Errorf("notice after the decision: %+v", ns)
	}
	s, err := job.Status(ctx)
	if err != nil || s.Backlog != 0 || s.Indexed != 301 || s.Cursor == 0 {
		t.Errorf("status: %+v %v", s, err)
	}
}

func notices(t *testing.T, st store.Store, districts []string, after uint64) []dsync.Notice {
	t.Helper()
	var out []dsync.Notice
	err := st.View(ctx, func(tx store.Tx) error {
		var err error
		out, _, err = tx.Notices(districts, after, 100)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A full run gives no notice on the roll it first checks, but does on the
// registrations committed after the cursor a run before kept: a re-tune
// must not swallow the notice an incremental run would have given.
func TestJob_FullRunNoticesWhatCameAfter(t *testing.T) {
	st, recs, dev := rollStore(t, 300)
	job := dedupjob.New(st, options())
	if _, err := job.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if ns := notices(t, st, nil, 0); len(ns) != 0 {
		t.Fatalf("the first full run gave %d notices", len(ns))
	}
	dup := recs[0]
	dup.ID, dup.Ref, dup.District, dup.Phone = "late-1", "late-1", "430102001099", ""
	dev.push(t, st, dup)
	if _, err := dedupjob.New(st, options()).Run(ctx); err != nil {
		t.Fatal(err)
	}
	ns := notices(t, st, nil, 0)
	if len(ns) != 1 || ns[0].Record != "late-1" || ns[0].Elsewhere[0].District != recs[0].District {
		t.Fatalf("notices after a full run over a late registration: %+v", ns)
	}
}
