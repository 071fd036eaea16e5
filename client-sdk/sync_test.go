package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dsync "github.com/dengji/dengji/sync"
	"go.etcd.io/bbolt"
)

// newSynced opens a device that talks to srv and logs it in.
func newSynced(t testing.TB, srv *fakeServer, opts Options) *Device {
	t.Helper()
	opts.ServerURL = srv.URL
	opts.BackoffBase = time.Millisecond
	d, _ := mustOpen(t, opts)
	check(t, d.Login(context.Background(), "registrar", "secret"))
	return d
}

func mustSync(t *testing.T, d *Device) SyncReport {
	t.Helper()
	rep, err := d.Sync(context.Background())
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	return rep
}

func TestSync_Push(t *testing.T) {
	srv := newFakeServer(t)
	d := newSynced(t, srv, Options{BatchSize: 2})
	var ids []string
	for _, name := range []string{"a", "b", "c"} {
		ids = append(ids, must[string](t)(d.Create("registration", "110101001001", jsonFields(map[string]string{"name": name}))))
	}
	check(t, d.Update(ids[0], jsonFields(map[string]string{"name": "a2"})))
	rep := mustSync(t, d)
	if rep.Pushed[dsync.StatusApplied] != 4 || rep.Pulled != 3 || rep.Conflicts+rep.Rejections != 0 {
		t.Fatalf("report = %+v", rep)
	}
	if n := must[int](t)(d.Pending()); n != 0 {
		t.Fatalf("pending = %d", n)
	}
	if got := srv.count("/v1/push"); got != 2 || srv.gzipped != 2 {
		t.Fatalf("pushes = %d (gzipped %d), want 2 batches", got, srv.gzipped)
	}
	r := must[*dsync.Record](t)(d.Get(ids[0]))
	if value(t, r, "name") != "a2" || r.Seq == 0 || r.Version("name") != srv.record(ids[0]).Version("name") {
		t.Fatalf("view after sync = %+v", r)
	}
	if rep := mustSync(t, d); rep.Pulled != 0 || len(rep.Pushed) != 0 {
		t.Fatalf("second sync = %+v", rep)
	}
}

func TestSync_PushWithoutGzip(t *testing.T) {
	srv := newFakeServer(t)
	d := newSynced(t, srv, Options{DisableGzip: true})
	must[string](t)(d.Create("registration", "110101001001", jsonFields(map[string]string{"name": "a"})))
	mustSync(t, d)
	if srv.gzipped != 0 || srv.record(pendingOrLast(t, srv)) == nil {
		t.Fatalf("gzipped = %d", srv.gzipped)
	}
}

func pendingOrLast(t *testing.T, srv *fakeServer) string {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for id := range srv.records {
		return id
	}
	t.Fatal("server has no record")
	return ""
}

// TestSync_PushFolds: acknowledged values enter base at once, so the view
// keeps them even when the pull that follows fails.
func TestSync_PushFolds(t *testing.T) {
	srv := newFakeServer(t)
	d := newSynced(t, srv, Options{MaxAttempts: 1})
	id := must[string](t)(d.Create("registration", "110101001001", jsonFields(map[string]string{"name": "a"})))
	check(t, d.Update(id, jsonFields(map[string]string{"name": "b"})))
	srv.failNext("/v1/pull", 503)
	if _, err := d.Sync(context.Background()); err == nil {
		t.Fatal("sync succeeded despite failed pull")
	}
	r := must[*dsync.Record](t)(d.Get(id))
	var base *dsync.Record
	d.db.View(func(tx *bbolt.Tx) (err error) { base, err = getRecordTx(tx, bucketBase, id); return err })
	if value(t, r, "name") != "b" || base == nil || base.Version("name") != srv.record(id).Version("name") {
		t.Fatalf("view %+v base %+v", r, base)
	}
}

func TestSync_Conflict(t *testing.T) {
	srv := newFakeServer(t)
	a := newSynced(t, srv, Options{})
	b := newSynced(t, srv, Options{})
	id := must[string](t)(a.Create("registration", "110101001001", jsonFields(map[string]string{"name": "张三"})))
	mustSync(t, a)
	mustSync(t, b)
	check(t, a.Update(id, jsonFields(map[string]string{"name": "张叁"})))
	check(t, b.Update(id, jsonFields(map[string]string{"name": "章三"})))
	mustSync(t, a)
	rep := mustSync(t, b)
	if rep.Pushed[dsync.StatusConflict] != 1 || rep.Conflicts != 1 {
		t.Fatalf("report = %+v", rep)
	}
	cs := must[[]dsync.Conflict](t)(b.Conflicts())
	if len(cs) != 1 || cs[0].Record != id || string(cs[0].Kept.Value) != `"张叁"` || string(cs[0].Other.Value) != `"章三"` {
		t.Fatalf("conflicts = %+v", cs)
	}
	if r := must[*dsync.Record](t)(b.Get(id)); value(t, r, "name") != "张叁" {
		t.Fatalf("b sees %s, want the kept value", value(t, r, "name"))
	}
	if n := must[int](t)(b.Pending()); n != 0 {
		t.Fatalf("pending = %d", n)
	}

	// Nothing changed: an empty Sync does not ask.
	mustSync(t, b)
	if n := srv.count("/v1/conflicts/status"); n != 1 {
		t.Fatalf("%d status requests, want the one when the conflict was raised", n)
	}

	// A coordinator decides for the other value, which changes the record
	// (here a's edit stands for the decision's change); b's next Sync
	// pulls the change and learns the decision.
	decided := cs[0]
	decided.Status = dsync.ConflictResolved
	decided.Resolution = &dsync.Resolution{Choice: "other", By: "coordinator"}
	srv.mu.Lock()
	srv.decided[decided.ID] = decided
	srv.mu.Unlock()
	check(t, a.Update(id, jsonFields(map[string]string{"name": "章三"})))
	mustSync(t, a)
	if rep := mustSync(t, b); rep.Resolved != 1 {
		t.Fatalf("report = %+v", rep)
	}
	cs = must[[]dsync.Conflict](t)(b.Conflicts())
	if cs[0].Status != dsync.ConflictResolved || cs[0].Resolution.By != "coordinator" {
		t.Fatalf("the decision did not reach the device: %+v", cs[0])
	}
	if rep := mustSync(t, b); rep.Resolved != 0 || srv.count("/v1/conflicts/status") != 2 {
		t.Fatalf("a decided conflict must not be asked about again: %+v, %d requests", rep, srv.count("/v1/conflicts/status"))
	}
}

// keptDecision makes a conflict on device b (with opts) and has a
// coordinator decide it by keeping the record as it is: nothing b pulls
// changes.
func keptDecision(t *testing.T, opts Options) (*fakeServer, *Device) {
	t.Helper()
	srv := newFakeServer(t)
	a := newSynced(t, srv, Options{})
	b := newSynced(t, srv, opts)
	id := must[string](t)(a.Create("registration", "110101001001", jsonFields(map[string]string{"name": "张三"})))
	mustSync(t, a)
	mustSync(t, b)
	check(t, a.Update(id, jsonFields(map[string]string{"name": "张叁"})))
	check(t, b.Update(id, jsonFields(map[string]string{"name": "章三"})))
	mustSync(t, a)
	mustSync(t, b)
	cs := must[[]dsync.Conflict](t)(b.Conflicts())
	if len(cs) != 1 {
		t.Fatalf("conflicts = %+v", cs)
	}
	decided := cs[0]
	decided.Status = dsync.ConflictResolved
	decided.Resolution = &dsync.Resolution{Choice: "kept", By: "coordinator"}
	srv.mu.Lock()
	srv.decided[decided.ID] = decided
	srv.mu.Unlock()
	if rep := mustSync(t, b); rep.Resolved != 0 {
		t.Fatalf("learned a decision with nothing changed, before the sweep: %+v", rep)
	}
	return srv, b
}

// A decision that keeps the record as it is changes nothing the device
// pulls: the daily sweep of every open conflict brings it.
func TestSync_KeptDecisionAtSweep(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Now().UnixMilli())
	_, b := keptDecision(t, Options{Now: func() time.Time { return time.UnixMilli(now.Load()) }})
	now.Add((conflictSweep + time.Minute).Milliseconds())
	if rep := mustSync(t, b); rep.Resolved != 1 {
		t.Fatalf("the sweep did not bring the decision: %+v", rep)
	}
}

// RecheckConflicts brings a kept decision at once, without waiting for the
// sweep, and asks nothing when no conflict is open.
func TestRecheckConflicts_BringsAKeptDecision(t *testing.T) {
	srv, b := keptDecision(t, Options{})
	if n, err := b.RecheckConflicts(context.Background()); err != nil || n != 1 {
		t.Fatalf("RecheckConflicts = %d, %v; want the kept decision", n, err)
	}
	cs := must[[]dsync.Conflict](t)(b.Conflicts())
	if cs[0].Status != dsync.ConflictResolved || cs[0].Resolution.Choice != "kept" {
		t.Fatalf("the decision is not on the device: %+v", cs[0])
	}
	asked := srv.count("/v1/conflicts/status")
	if n, err := b.RecheckConflicts(context.Background()); err != nil || n != 0 || srv.count("/v1/conflicts/status") != asked {
		t.Fatalf("nothing open: RecheckConflicts = %d, %v, %d requests (was %d)", n, err, srv.count("/v1/conflicts/status"), asked)
	}
}

// A server that keeps refusing the device's counters, without naming its
// mark: the SDK renumbers a few times, then gives up with every change
// still in the outbox, none moved to the rejected list.
func TestSync_CounterReusedGivesUpKeepingChanges(t *testing.T) {
	srv := newFakeServer(t)
	srv.reject = func(*dsync.Change) string { return dsync.CodeCounterReused }
	d := newSynced(t, srv, Options{BatchSize: 2})
	for _, name := range []string{"a", "b", "c"} {
		must[string](t)(d.Create("registration", "110101001001", jsonFields(map[string]string{"name": name})))
	}
	if _, err := d.Sync(context.Background()); !errors.Is(err, ErrProtocol) {
		t.Fatalf("sync: %v", err)
	}
	if n := must[int](t)(d.Pending()); n != 3 {
		t.Fatalf("%d changes left in the outbox, want 3", n)
	}
	if rs := must[[]Rejection](t)(d.Rejected()); len(rs) != 0 {
		t.Fatalf("rejected = %+v", rs)
	}
	if n := srv.count("/v1/push"); n != 4 {
		t.Fatalf("%d pushes, want the first and three renumbered", n)
	}
}

func TestSync_Rejected(t *testing.T) {
	srv := newFakeServer(t)
	srv.reject = rejectBadName
	d := newSynced(t, srv, Options{})
	good := must[string](t)(d.Create("registration", "110101001001", jsonFields(map[string]string{"name": "good"})))
	bad := must[string](t)(d.Create("registration", "110101001001", jsonFields(map[string]string{"name": "bad"})))
	rep := mustSync(t, d)
	if rep.Rejections != 1 || rep.Pushed[dsync.StatusRejected] != 1 {
		t.Fatalf("report = %+v", rep)
	}
	rs := must[[]Rejection](t)(d.Rejected())
	if len(rs) != 1 || rs[0].Change.Record != bad || string(rs[0].Change.Set["name"]) != `"bad"` || rs[0].Result.Code != dsync.CodeValidation {
		t.Fatalf("rejected = %+v", rs)
	}
	if _, err := d.Get(bad); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rejected create still in view: %v", err)
	}
	if ss := must[[]*Summary](t)(summaries(d)); len(ss) != 1 || ss[0].ID != good {
		t.Fatalf("summaries after the refusal: %+v", ss)
	}
	must[*dsync.Record](t)(d.Get(good))
	if n := must[int](t)(d.Pending()); n != 0 {
		t.Fatalf("pending = %d", n)
	}
}

// TestSync_PendingOnTop: a pull does not hide local edits not yet pushed.
func TestSync_PendingOnTop(t *testing.T) {
	srv := newFakeServer(t)
	a := newSynced(t, srv, Options{})
	b := newSynced(t, srv, Options{})
	id := must[string](t)(a.Create("registration", "110101001001", jsonFields(map[string]string{"name": "张三", "phone": "1"})))
	mustSync(t, a)
	mustSync(t, b)
	check(t, b.Update(id, jsonFields(map[string]string{"name": "张叁"})))
	check(t, a.Update(id, jsonFields(map[string]string{"phone": "2"})))
	mustSync(t, a)
	check(t, b.pull(context.Background(), &SyncReport{}))
	r := must[*dsync.Record](t)(b.Get(id))
	if value(t, r, "name") != "张叁" || value(t, r, "phone") != "2" {
		t.Fatalf("b sees %+v", r.Fields)
	}
	if n := must[int](t)(b.Pending()); n != 1 {
		t.Fatalf("pending = %d", n)
	}
	// The summary is the view's, pending edit included, before and after
	// the sync that takes the view away.
	for range 2 {
		if ss := must[[]*Summary](t)(summaries(b)); len(ss) != 1 || ss[0].Name != "张叁" || ss[0].Initials != "zs" {
			t.Fatalf("b's summaries %+v", ss)
		}
		mustSync(t, b)
	}
	if s := srv.record(id); value(t, s, "name") != "张叁" || value(t, s, "phone") != "2" {
		t.Fatalf("server has %+v", s.Fields)
	}
}

func TestSync_PullResume(t *testing.T) {
	srv := newFakeServer(t)
	for range 5 {
		srv.put("registration", "110101001001", map[string]string{"name": "x"})
	}
	d := newSynced(t, srv, Options{PageSize: 2, MaxAttempts: 1})
	srv.failNext("/v1/pull", 0, 503) // the first page passes, the second fails
	if _, err := d.Sync(context.Background()); err == nil {
		t.Fatal("sync succeeded")
	}
	if c := must[uint64](t)(d.cursor()); c != 2 {
		t.Fatalf("stored cursor = %d, want 2", c)
	}
	rep := mustSync(t, d)
	// The failed request never reached the pull handler, so srv.pulls has
	// the three that did; the second Sync starts at the stored cursor 2.
	q := "&limit=2&max_bytes=4194304&format=c1&held=0" // held: no change of its own yet
	want := []string{"cursor=0" + q, "cursor=2" + q, "cursor=4" + q}
	if rep.Pulled != 3 || len(srv.pulls) != len(want) || srv.count("/v1/pull") != 4 {
		t.Fatalf("pulled %d; pulls %v", rep.Pulled, srv.pulls)
	}
	for i := range want {
		if srv.pulls[i] != want[i] {
			t.Fatalf("pulls = %v, want %v", srv.pulls, want)
		}
	}
	if n := len(must[[]*dsync.Record](t)(d.List(ListFilter{}))); n != 5 {
		t.Fatalf("records = %d", n)
	}
}

// TestSync_PullTombstone: a deleted record the device never had stays out.
func TestSync_PullTombstone(t *testing.T) {
	srv := newFakeServer(t)
	a := newSynced(t, srv, Options{})
	b := newSynced(t, srv, Options{})
	keep := must[string](t)(a.Create("registration", "110101001001", jsonFields(map[string]string{"name": "keep"})))
	mustSync(t, a)
	mustSync(t, b)
	gone := must[string](t)(a.Create("registration", "110101001001", jsonFields(map[string]string{"name": "gone"})))
	check(t, a.Delete(keep))
	mustSync(t, a)
	check(t, a.Delete(gone))
	mustSync(t, a)
	mustSync(t, b)
	all := must[[]*dsync.Record](t)(b.List(ListFilter{IncludeDeleted: true}))
	if len(all) != 1 || all[0].ID != keep || !all[0].Deleted() {
		t.Fatalf("b has %+v", all)
	}
}

func TestSync_Retry(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		srv := newFakeServer(t)
		d := newSynced(t, srv, Options{})
		must[string](t)(d.Create("registration", "110101001001", jsonFields(map[string]string{"name": "a"})))
		srv.failNext("/v1/push", 503, 429)
		mustSync(t, d)
		if n := srv.count("/v1/push"); n != 3 {
			t.Fatalf("push requests = %d, want 3", n)
		}
	})
	t.Run("ErrAttempts", func(t *testing.T) {
		srv := newFakeServer(t)
		d := newSynced(t, srv, Options{MaxAttempts: 3})
		must[string](t)(d.Create("registration", "110101001001", jsonFields(map[string]string{"name": "a"})))
		srv.failNext("/v1/push", 503, 503, 503)
		var se *ServerError
		if _, err := d.Sync(context.Background()); !errors.As(err, &se) || se.StatusCode != 503 {
			t.Fatalf("err = %v", err)
		}
		if n := srv.count("/v1/push"); n != 3 {
			t.Fatalf("push requests = %d, want 3", n)
		}
		if n := must[int](t)(d.Pending()); n != 1 {
			t.Fatalf("pending = %d", n)
		}
	})
	t.Run("ErrClient", func(t *testing.T) {
		srv := newFakeServer(t)
		d := newSynced(t, srv, Options{})
		must[string](t)(d.Create("registration", "110101001001", jsonFields(map[string]string{"name": "a"})))
		srv.failNext("/v1/push", 400)
		var se *ServerError
		if _, err := d.Sync(context.Background()); !errors.As(err, &se) || se.Code != "unavailable" || se.Message != "injected failure" {
			t.Fatalf("err = %v", err)
		}
		if n := srv.count("/v1/push"); n != 1 {
			t.Fatalf("a 400 was retried: %d requests", n)
		}
	})
	t.Run("ErrContext", func(t *testing.T) {
		srv := newFakeServer(t)
		d := newSynced(t, srv, Options{BackoffBase: time.Hour})
		d.opts.BackoffBase = time.Hour
		must[string](t)(d.Create("registration", "110101001001", jsonFields(map[string]string{"name": "a"})))
		srv.failNext("/v1/push", 503)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, err := d.Sync(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestSync_Auth(t *testing.T) {
	t.Run("RefreshExpired", func(t *testing.T) {
		srv := newFakeServer(t)
		d := newSynced(t, srv, Options{})
		must[string](t)(d.Create("registration", "110101001001", jsonFields(map[string]string{"name": "a"})))
		srv.mu.Lock()
		srv.expire = true
		srv.mu.Unlock()
		mustSync(t, d)
		var rt string
		d.db.View(func(tx *bbolt.Tx) error { rt = getStringTx(tx, keyRefresh); return nil })
		if rt != "refresh-2" || srv.count("/v1/auth/refresh") != 1 {
			t.Fatalf("refresh token = %s after %d refreshes", rt, srv.count("/v1/auth/refresh"))
		}
	})
	t.Run("RefreshedBeforeFirstRequestAfterRestart", func(t *testing.T) {
		// The app is started again the next morning: the device file knows
		// the token expired, and refreshes it before its first request
		// instead of having one refused.
		srv := newFakeServer(t)
		path := filepath.Join(t.TempDir(), "device.db")
		d := mustOpenPath(t, path, Options{ServerURL: srv.URL})
		check(t, d.Login(context.Background(), "registrar", "secret"))
		d.Close()
		srv.mu.Lock()
		srv.expire = true
		srv.mu.Unlock()
		later := func() time.Time { return time.Now().Add(time.Hour) }
		d = mustOpenPath(t, path, Options{ServerURL: srv.URL, Now: later})
		mustSync(t, d)
		srv.mu.Lock()
		defer srv.mu.Unlock()
		if n := srv.requests["/v1/auth/refresh"]; n != 1 || srv.expired != 0 {
			t.Fatalf("%d refreshes, %d requests refused as expired", n, srv.expired)
		}
	})
	t.Run("ErrRevoked", func(t *testing.T) {
		srv := newFakeServer(t)
		d := newSynced(t, srv, Options{})
		srv.mu.Lock()
		srv.revoked = true
		srv.mu.Unlock()
		if _, err := d.Sync(context.Background()); !errors.Is(err, ErrRevoked) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrNotLoggedIn", func(t *testing.T) {
		srv := newFakeServer(t)
		d, _ := mustOpen(t, Options{ServerURL: srv.URL})
		if _, err := d.Sync(context.Background()); !errors.Is(err, ErrNotLoggedIn) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrLogin", func(t *testing.T) {
		srv := newFakeServer(t)
		d, _ := mustOpen(t, Options{ServerURL: srv.URL})
		var se *ServerError
		if err := d.Login(context.Background(), "registrar", "wrong"); !errors.As(err, &se) || se.Code != "bad_credentials" {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestSync_Concurrent: the app keeps writing and reading while Sync runs.
func TestSync_Concurrent(t *testing.T) {
	srv := newFakeServer(t)
	d := newSynced(t, srv, Options{BatchSize: 7})
	var wg sync.WaitGroup
	const writers, each = 4, 25
	for range writers {
		wg.Go(func() {
			for range each {
				id, err := d.Create("registration", "110101001001", jsonFields(map[string]string{"name": "x"}))
				if err == nil {
					err = d.Update(id, jsonFields(map[string]string{"name": "y"}))
				}
				if err == nil {
					_, err = d.List(ListFilter{})
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for range 5 {
		if _, err := d.Sync(context.Background()); err != nil && !errors.Is(err, ErrSyncInProgress) {
			t.Fatal(err)
		}
	}
	wg.Wait()
	mustSync(t, d)
	srv.mu.Lock()
	n := len(srv.records)
	srv.mu.Unlock()
	if n != writers*each || must[int](t)(d.Pending()) != 0 {
		t.Fatalf("server has %d records", n)
	}
	for _, r := range must[[]*dsync.Record](t)(d.List(ListFilter{})) {
		if value(t, r, "name") != "y" {
			t.Fatalf("record %s = %s", r.ID, value(t, r, "name"))
		}
	}
}

// TestSync_Network: a server that cannot be reached is retried, then the
// network error is returned; nothing leaves the outbox.
func TestSync_Network(t *testing.T) {
	srv := newFakeServer(t)
	d := newSynced(t, srv, Options{MaxAttempts: 2})
	must[string](t)(d.Create("registration", "110101001001", jsonFields(map[string]string{"name": "a"})))
	srv.Close()
	_, err := d.Sync(context.Background())
	var te *transientError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v", err)
	}
	if n := must[int](t)(d.Pending()); n != 1 {
		t.Fatalf("pending = %d", n)
	}
}

func TestSync_TooLarge(t *testing.T) {
	srv := newFakeServer(t)
	d := newSynced(t, srv, Options{BatchSize: 8})
	for range 5 {
		must[string](t)(d.Create("registration", "110101001001", jsonFields(map[string]string{"name": "a"})))
	}
	// 5 → 2 → 1 refused, then 1, 1, 2, 1 pass: each batch that gets
	// through doubles the size of the one prepared after it.
	srv.failNext("/v1/push", 413, 413)
	rep := mustSync(t, d)
	if rep.Pushed[dsync.StatusApplied] != 5 || srv.count("/v1/push") != 6 {
		t.Fatalf("report %+v after %d pushes", rep, srv.count("/v1/push"))
	}
}

// BenchmarkSync measures one Sync of 1000 queued registrations against the
// in-memory stand-in server over loopback HTTP: push (encode, gzip,
// acknowledge in bbolt), then pull the 1000 records back. One op = one Sync.
func BenchmarkSync(b *testing.B) {
	srv := newFakeServer(b)
	d := newSynced(b, srv, Options{Validate: acceptAll})
	fields := registrationFields()
	for b.Loop() {
		b.StopTimer()
		d.mu.Lock()
		check(b, d.db.Update(func(tx *bbolt.Tx) error { return fillOutboxTx(d, tx, 1000, fields) }))
		d.mu.Unlock()
		b.StartTimer()
		if _, err := d.Sync(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// fillOutboxTx queues n creates in one transaction (faster than n Creates).
// The caller holds d.mu.
func fillOutboxTx(d *Device, tx *bbolt.Tx, n int, fields map[string]json.RawMessage) error {
	for range n {
		id, _ := newID()
		ch := &dsync.Change{Record: id, Type: "registration", District: "110101001001", Op: dsync.OpCreate, Set: fields}
		if err := d.stampTx(tx, ch); err != nil {
			return err
		}
		if err := appendChangeTx(tx, ch); err != nil {
			return err
		}
		if err := putRecordTx(tx, bucketView, applyChange(nil, ch)); err != nil {
			return err
		}
	}
	return nil
}

// TestSync_LostAnswer: the server applied a push but its answer was lost; the
// retry is answered "duplicate" with the first result, which the device
// treats like the original.
func TestSync_LostAnswer(t *testing.T) {
	srv := newFakeServer(t)
	srv.reject = rejectBadName
	d := newSynced(t, srv, Options{})
	good := must[string](t)(d.Create("registration", "110101001001", jsonFields(map[string]string{"name": "good"})))
	must[string](t)(d.Create("registration", "110101001001", jsonFields(map[string]string{"name": "bad"})))
	srv.lose = 1
	rep := mustSync(t, d)
	// The lost answer is a failure in transit: the batch goes again halved,
	// one change a request.
	if rep.Pushed[dsync.StatusDuplicate] != 2 || rep.Rejections != 1 || srv.count("/v1/push") != 3 {
		t.Fatalf("report = %+v", rep)
	}
	if rs := must[[]Rejection](t)(d.Rejected()); len(rs) != 1 {
		t.Fatalf("rejected = %+v", rs)
	}
	if r := must[*dsync.Record](t)(d.Get(good)); r.Version("name") != srv.record(good).Version("name") {
		t.Fatalf("view %+v", r.Fields)
	}
}

func TestSync_InProgress(t *testing.T) {
	d, _ := mustOpen(t, Options{})
	d.syncing.Lock()
	defer d.syncing.Unlock()
	if _, err := d.Sync(context.Background()); !errors.Is(err, ErrSyncInProgress) {
		t.Fatalf("err = %v", err)
	}
}

// rejectBadName makes the stand-in server refuse a change that names "bad".
func rejectBadName(ch *dsync.Change) string {
	if string(ch.Set["name"]) == `"bad"` {
		return dsync.CodeValidation
	}
	return ""
}
