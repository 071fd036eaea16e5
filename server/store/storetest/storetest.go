// Package storetest is the conformance suite every store.Store backend must
// pass: Run it from the backend's own tests with a function that opens a
// fresh, empty store.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// Opener returns a new empty store; the suite closes it.
type Opener func(t *testing.T) store.Store

// Run runs every conformance test against stores from open.
func Run(t *testing.T, open Opener) {
	tests := map[string]func(*testing.T, store.Store){
		"PushApplies":                  testPushApplies,
		"PushTwiceAppliesOnce":         testPushTwiceAppliesOnce,
		"CounterReuseRejected":         testCounterReuseRejected,
		"ConflictStoredWithBase":       testConflictStoredWithBase,
		"ResolveFlowsThroughFeed":      testResolveFlowsThroughFeed,
		"FeedPagesByDistrict":          testFeedPagesByDistrict,
		"AreaScope":                    testAreaScope,
		"SnapshotKeepsTombstones":      testSnapshotKeepsTombstones,
		"PullPagesBoundedInBytes":      testPullPagesBoundedInBytes,
		"ContractCheckReports":         testContractCheck,
		"ValidatorRejects":             testValidatorRejects,
		"FailedUpdateWritesNothing":    testFailedUpdateWritesNothing,
		"Accounts":                     testAccounts,
		"RefreshFamilies":              testRefreshFamilies,
		"DupCases":                     testDupCases,
		"RefsDistrictsAndScan":         testRefsDistrictsAndScan,
		"ServerChangesNumbered":        testServerChangesNumbered,
		"AuditLog":                     testAudit,
		"ConcurrentSamePush":           testConcurrentSamePush,
		"FeedVisibility":               testFeedVisibility,
		"ConflictsPageAcrossDistricts": testConflictsPageAcrossDistricts,
		"ListsInOrder":                 testListsInOrder,
		"ValuesByteExact":              testValuesByteExact,
		"Deletes":                      testDeletes,
		"Notices":                      testNotices,
		"RecordHistory":                testRecordHistory,
		"ReopenConflict":               testReopenConflict,
		"OwnChangesLeftOut":            testOwnChangesLeftOut,
		"DecodeAll":                    testDecodeAll,
		"RefsInBatches":                testRefsInBatches,
		"DupCasesInOneTransaction":     testDupCasesInOneTransaction,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			fn(t, s)
		})
	}
}

var ctx = context.Background()

// dev makes changes like a device: counters grow, bases come from what it saw.
type dev struct {
	id string
	n  uint64
}

func (d *dev) change(op dsync.Op, seen *dsync.Record, rec, district string, set map[string]string) dsync.Change {
	d.n++
	ch := dsync.Change{ID: fmt.Sprintf("%s-%04d", d.id, d.n), Device: d.id, Counter: d.n, Record: rec,
		Type: "registration", District: district, Op: op, HLC: dsync.MakeHLC(1700000000000, uint16(d.n)),
		Set: map[string]json.RawMessage{}, Base: map[string]string{}}
	for k, v := range set {
		ch.Set[k] = json.RawMessage(v)
		if seen != nil {
			ch.Base[k] = seen.Version(k)
		}
	}
	if seen != nil {
		ch.Base[dsync.FieldDeleted] = seen.Version(dsync.FieldDeleted)
		if op == dsync.OpDelete {
			for k, f := range seen.Fields {
				ch.Base[k] = f.Version
			}
		}
	}
	return ch
}

func push(t *testing.T, s store.Store, d *dev, chs ...dsync.Change) []dsync.Result {
	t.Helper()
	rs, err := store.Push(ctx, s, store.PushRequest{Device: d.id, Author: "u-" + d.id, Changes: chs})
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	return rs
}

func record(t *testing.T, s store.Store, id string) *dsync.Record {
	t.Helper()
	var rec *dsync.Record
	err := s.View(ctx, func(tx store.Tx) error {
		var err error
		rec, err = tx.Record(id)
		return err
	})
	if err != nil {
		t.Fatalf("record %s: %v", id, err)
	}
	return rec
}

// pull reads one page through store.Pull and decodes it.
func pull(t *testing.T, s store.Store, districts []string, cursor uint64, limit int) ([]dsync.Record, *store.Page) {
	t.Helper()
	page, err := store.Pull(ctx, s, districts, cursor, limit)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	recs, err := page.Decode()
	if err != nil {
		t.Fatalf("decode page: %v", err)
	}
	var viaJSON dsync.PullResponse
	if err := json.Unmarshal(page.AppendJSON(nil), &viaJSON); err != nil || len(viaJSON.Records) != len(recs) ||
		viaJSON.Cursor != page.Cursor || viaJSON.More != page.More {
		t.Fatalf("page JSON does not read back as a PullResponse: %v", err)
	}
	return recs, page
}

func wantStatus(t *testing.T, rs []dsync.Result, want ...dsync.Status) {
	t.Helper()
	for i, r := range rs {
		if r.Status != want[i] {
			t.Fatalf("result %d: %s (%s %s), want %s", i, r.Status, r.Code, r.Reason, want[i])
		}
	}
}

func testPushApplies(t *testing.T, s store.Store) {
	a := &dev{id: "A"}
	rs := push(t, s, a, a.change(dsync.OpCreate, nil, "r1", "d1", map[string]string{"name": `"张伟"`}))
	wantStatus(t, rs, dsync.StatusApplied)
	rec := record(t, s, "r1")
	if string(rec.Fields["name"].Value) != `"张伟"` || rec.Seq != rs[0].Seq || rec.Writers[rs[0].Change].Author != "u-A" {
		t.Fatalf("stored record %+v, result %+v", rec, rs[0])
	}
}

func testPushTwiceAppliesOnce(t *testing.T, s store.Store) {
	a := &dev{id: "A"}
	create := a.change(dsync.OpCreate, nil, "r1", "d1", map[string]string{"name": `"张伟"`})
	first := push(t, s, a, create)
	seen := record(t, s, "r1")
	upd := a.change(dsync.OpUpdate, seen, "r1", "d1", map[string]string{"phone": `"13800000000"`})
	// The same batch twice in one request, then again in a retry. An ID
	// repeated within a batch is a malformed batch, not a retry.
	rs := push(t, s, a, create, upd, upd)
	wantStatus(t, rs, dsync.StatusDuplicate, dsync.StatusApplied, dsync.StatusRejected)
	if rs[2].Code != dsync.CodeInvalidChange {
		t.Fatalf("an ID repeated in a batch: %+v", rs[2])
	}
	again := push(t, s, a, create, upd)
	wantStatus(t, again, dsync.StatusDuplicate, dsync.StatusDuplicate)
	if again[0].Seq != first[0].Seq || again[1].Seq != rs[1].Seq {
		t.Fatal("a duplicate must answer with the first result's sequence")
	}
	var high uint64
	s.View(ctx, func(tx store.Tx) error { high, _ = tx.HighSeq(); return nil })
	if high != 2 {
		t.Fatalf("two distinct changes must use two sequence numbers, used %d", high)
	}
}

func testCounterReuseRejected(t *testing.T, s store.Store) {
	a := &dev{id: "A"}
	push(t, s, a, a.change(dsync.OpCreate, nil, "r1", "d1", map[string]string{"name": `"a"`}),
		a.change(dsync.OpCreate, nil, "r0", "d1", map[string]string{"name": `"z"`}))
	restored := &dev{id: "A"} // restored from a backup: counter starts over
	reused := restored.change(dsync.OpCreate, nil, "r2", "d1", map[string]string{"name": `"b"`})
	reused.ID = "A-restored-0001" // a new change under a counter already used
	restored.n = 2
	after := restored.change(dsync.OpUpdate, nil, "r2", "d1", map[string]string{"name": `"c"`})
	after.ID = "A-restored-0002" // above the high-water mark, but after a refused change
	rs := push(t, s, restored, reused, after)
	for i, r := range rs {
		var d dsync.CounterReused
		if r.Status != dsync.StatusRejected || r.Code != dsync.CodeCounterReused ||
			json.Unmarshal(r.Details, &d) != nil || d.High != 2 {
			t.Fatalf("result %d: %+v", i, r)
		}
	}
	// Numbered again above the mark, both are taken: the refusals were not
	// remembered as the changes' answers.
	reused.Counter, after.Counter = 3, 4
	after.Base = map[string]string{"name": reused.ID, dsync.FieldDeleted: ""}
	wantStatus(t, push(t, s, restored, reused, after), dsync.StatusApplied, dsync.StatusApplied)
	if got := string(record(t, s, "r2").Fields["name"].Value); got != `"c"` {
		t.Fatalf("r2 name %s", got)
	}
	wrong := &dev{id: "B"}
	rs, _ = store.Push(ctx, s, store.PushRequest{Device: "A", Changes: []dsync.Change{
		wrong.change(dsync.OpCreate, nil, "r3", "d1", map[string]string{"name": `"c"`})}})
	if rs[0].Code != dsync.CodeWrongDevice {
		t.Fatalf("a change of another device: %+v", rs[0])
	}
}

func testConflictStoredWithBase(t *testing.T, s store.Store) {
	a, b := &dev{id: "A"}, &dev{id: "B"}
	push(t, s, a, a.change(dsync.OpCreate, nil, "r1", "d1", map[string]string{"name": `"王雄"`}))
	seen := record(t, s, "r1")
	push(t, s, a, a.change(dsync.OpUpdate, seen, "r1", "d1", map[string]string{"name": `"王熊"`}))
	rs := push(t, s, b, b.change(dsync.OpUpdate, seen, "r1", "d1", map[string]string{"name": `"汪雄"`}))
	wantStatus(t, rs, dsync.StatusConflict)
	var cs []dsync.Conflict
	s.View(ctx, func(tx store.Tx) error {
		var err error
		cs, err = tx.Conflicts(store.ConflictQuery{Districts: []string{"d1"}, Status: dsync.ConflictOpen})
		return err
	})
	if len(cs) != 1 {
		t.Fatalf("want one open conflict, got %d", len(cs))
	}
	c := cs[0]
	if string(c.Base.Value) != `"王雄"` || string(c.Kept.Value) != `"王熊"` || string(c.Other.Value) != `"汪雄"` ||
		c.Kept.Author != "u-A" || c.Other.Author != "u-B" || c.Other.Device != "B" {
		t.Fatalf("conflict must hold base, both values and both authors: %+v", c)
	}
	var none []dsync.Conflict
	s.View(ctx, func(tx store.Tx) error {
		none, _ = tx.Conflicts(store.ConflictQuery{Districts: []string{"d2"}})
		return nil
	})
	if len(none) != 0 {
		t.Fatal("conflicts leaked into another district")
	}
}

func testResolveFlowsThroughFeed(t *testing.T, s store.Store) {
	a, b := &dev{id: "A"}, &dev{id: "B"}
	push(t, s, a, a.change(dsync.OpCreate, nil, "r1", "d1", map[string]string{"name": `"王雄"`}))
	seen := record(t, s, "r1")
	push(t, s, a, a.change(dsync.OpUpdate, seen, "r1", "d1", map[string]string{"name": `"王熊"`}))
	rs := push(t, s, b, b.change(dsync.OpUpdate, seen, "r1", "d1", map[string]string{"name": `"汪雄"`}))
	cursor := record(t, s, "r1").Seq
	c, err := store.ResolveConflict(ctx, s, store.Resolve{Conflict: rs[0].Conflicts[0].ID, Choice: store.ChoiceOther, By: "coord"})
	if err != nil || c.Status != dsync.ConflictResolved || c.Resolution.Change == "" {
		t.Fatalf("resolve: %+v %v", c, err)
	}
	recs, _ := pull(t, s, []string{"d1"}, cursor, 10)
	if len(recs) != 1 || string(recs[0].Fields["name"].Value) != `"汪雄"` {
		t.Fatalf("the decision must reach devices through the feed: %+v", recs)
	}
	if _, err := store.ResolveConflict(ctx, s, store.Resolve{Conflict: c.ID, Choice: store.ChoiceKept}); !errors.Is(err, store.ErrResolved) {
		t.Fatalf("second decision: %v", err)
	}
}

func testFeedPagesByDistrict(t *testing.T, s store.Store) {
	a := &dev{id: "A"}
	var chs []dsync.Change
	for i := 0; i < 30; i++ {
		chs = append(chs, a.change(dsync.OpCreate, nil, fmt.Sprintf("r%02d", i), fmt.Sprintf("d%d", i%3),
			map[string]string{"name": fmt.Sprintf(`"%d"`, i)}))
	}
	push(t, s, a, chs...)
	// Edit r00 so it moves to the end of the feed.
	seen := record(t, s, "r00")
	push(t, s, a, a.change(dsync.OpUpdate, seen, "r00", "d0", map[string]string{"name": `"edited"`}))

	var got []string
	cursor := uint64(0)
	for {
		recs, page := pull(t, s, []string{"d0", "d2"}, cursor, 4)
		for _, r := range recs {
			if r.District == "d1" {
				t.Fatalf("record %s of district d1 leaked", r.ID)
			}
			got = append(got, r.ID)
		}
		cursor = page.Cursor
		if !page.More {
			break
		}
	}
	if len(got) != 20 || got[len(got)-1] != "r00" {
		t.Fatalf("feed gave %d records (%v), want 20 once each ending with the edited r00", len(got), got)
	}
	all, _ := store.Pull(ctx, s, nil, 0, 100)
	if len(all.Records) != 30 {
		t.Fatalf("an unscoped pull gave %d records", len(all.Records))
	}
}

// A town's coordinator is given the town's nine digits: every village of the
// town is in scope, those holding records are found for reads, and no other
// town's.
func testAreaScope(t *testing.T, s store.Store) {
	a := &dev{id: "A"}
	for i, d := range []string{"430102001002", "430102001001", "430102002001", "430102001001"} {
		push(t, s, a, a.change(dsync.OpCreate, nil, fmt.Sprintf("r%d", i), d, map[string]string{"name": `"x"`}))
	}
	var town, all []string
	s.View(ctx, func(tx store.Tx) error {
		town, _ = tx.FeedDistricts("430102001")
		all, _ = tx.FeedDistricts("")
		return nil
	})
	if !slices.Equal(town, []string{"430102001001", "430102001002"}) || len(all) != 3 {
		t.Fatalf("districts of the town %v, of all %v", town, all)
	}
	u := &store.User{Role: store.RoleCoordinator, Districts: []string{"430102001", "d9"}}
	// Scopes are code prefixes: a work-unit district numbered after the town
	// (43010200190, 430102001901) is the town's too, whatever its length.
	for d, want := range map[string]bool{"430102001001": true, "430102001777": true, "d9": true,
		"43010200190": true, "430102001901": true, "430102002001": false, "4301020020011": false, "430103001001": false} {
		if u.InScope(d) != want {
			t.Errorf("InScope(%s) = %v", d, !want)
		}
	}
	if err := s.View(ctx, func(tx store.Tx) error { return store.ResolveScope(tx, u) }); err != nil {
		t.Fatal(err)
	}
	recs, _ := pull(t, s, u.Scope(), 0, 10)
	if len(recs) != 3 {
		t.Fatalf("a town's scope pulled %d records, want the town's 3", len(recs))
	}
	for _, r := range recs {
		if r.District == "430102002001" {
			t.Fatal("another town's record leaked")
		}
	}
}

// A pull from cursor 0 carries tombstones too: the puller may already hold
// the record (its create pushed before its first pull completed).
func testSnapshotKeepsTombstones(t *testing.T, s store.Store) {
	a := &dev{id: "A"}
	push(t, s, a, a.change(dsync.OpCreate, nil, "r1", "d1", map[string]string{"name": `"a"`}),
		a.change(dsync.OpCreate, nil, "r2", "d1", map[string]string{"name": `"b"`}))
	seen := record(t, s, "r1")
	push(t, s, a, a.change(dsync.OpDelete, seen, "r1", "d1", map[string]string{dsync.FieldDeleted: "true"}))
	snap, page := pull(t, s, []string{"d1"}, 0, 10)
	if len(snap) != 2 || snap[0].ID != "r2" || !snap[1].Deleted() || page.Cursor != 3 {
		t.Fatalf("snapshot: %+v", snap)
	}
	later, _ := pull(t, s, []string{"d1"}, 1, 10)
	if len(later) != 2 || !later[1].Deleted() {
		t.Fatalf("an incremental pull must carry the tombstone: %+v", later)
	}
	var viaFeed []dsync.Record
	s.View(ctx, func(tx store.Tx) error {
		var err error
		viaFeed, _, err = tx.Feed([]string{"d1"}, 1, 10)
		return err
	})
	if len(viaFeed) != 2 || viaFeed[0].ID != later[0].ID || viaFeed[1].Seq != later[1].Seq {
		t.Fatalf("Feed and FeedRaw disagree: %+v", viaFeed)
	}
}

type detailErr struct{}

func (detailErr) Error() string {
	return "身份证号校验码错误 / ID number check digit is wrong"
}
func (detailErr) Details() json.RawMessage { return json.RawMessage(`[{"field":"id_number"}]`) }

func testValidatorRejects(t *testing.T, s store.Store) {
	a := &dev{id: "A"}
	rs, err := store.Push(ctx, s, store.PushRequest{Device: "A", Changes: []dsync.Change{
		a.change(dsync.OpCreate, nil, "r1", "d1", map[string]string{"name": `"a"`})},
		Validate: func(store.SyncTx, *dsync.Record) error { return detailErr{} }})
	if err != nil || rs[0].Code != dsync.CodeValidation || string(rs[0].Details) != `[{"field":"id_number"}]` {
		t.Fatalf("validation: %+v %v", rs, err)
	}
	if err := s.View(ctx, func(tx store.Tx) error { _, err := tx.Record("r1"); return err }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a rejected record must not be stored: %v", err)
	}
}

func testFailedUpdateWritesNothing(t *testing.T, s store.Store) {
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.PutUser(&store.User{Name: "ghost", Role: store.RoleAdmin}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("update error: %v", err)
	}
	err = s.View(ctx, func(tx store.Tx) error { _, err := tx.User("ghost"); return err })
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a failed transaction left a write behind: %v", err)
	}
}

func testAccounts(t *testing.T, s store.Store) {
	now := time.Now().UTC().Truncate(time.Second)
	err := s.Update(ctx, func(tx store.Tx) error {
		for _, err := range []error{
			tx.PutUser(&store.User{Name: "li", Role: store.RoleRegistrar, Districts: []string{"d1"}, Created: now}),
			tx.PutDevice(&store.Device{ID: "dev1", User: "li", Enrolled: now}),
			tx.PutRefreshToken(&store.RefreshToken{Hash: "h1", User: "li", Device: "dev1", Expires: now}),
			tx.PutRefreshToken(&store.RefreshToken{Hash: "h2", User: "li", Device: "dev2", Expires: now}),
			tx.PutSetting("k", []byte("v")),
		} {
			if err != nil {
				return err
			}
		}
		return tx.DeleteRefreshTokens("dev1")
	})
	if err != nil {
		t.Fatal(err)
	}
	s.View(ctx, func(tx store.Tx) error {
		u, err := tx.User("li")
		if err != nil || !u.InScope("d1") || u.InScope("d2") || !u.Created.Equal(now) {
			t.Errorf("user: %+v %v", u, err)
		}
		if _, err := tx.RefreshToken("h1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("refresh token of dev1 survived: %v", err)
		}
		if _, err := tx.RefreshToken("h2"); err != nil {
			t.Errorf("refresh token of dev2: %v", err)
		}
		if v, _ := tx.Setting("k"); string(v) != "v" {
			t.Errorf("setting %q", v)
		}
		ds, _ := tx.Devices()
		us, _ := tx.Users()
		if len(ds) != 1 || len(us) != 1 {
			t.Errorf("devices %d users %d", len(ds), len(us))
		}
		return nil
	})
}

func testRefreshFamilies(t *testing.T, s store.Store) {
	now := time.Now().UTC().Truncate(time.Second)
	fam := func(id, user, device string) *store.RefreshToken {
		return &store.RefreshToken{Family: id, Hash: "h-" + id, User: user, Device: device, Created: now,
			Expires: now.Add(time.Hour), Previous: "p-" + id, Rotated: now, Replayed: true}
	}
	err := s.Update(ctx, func(tx store.Tx) error {
		for _, err := range []error{
			tx.PutRefreshFamily(fam("f1", "li", "dev1")),
			tx.PutRefreshFamily(fam("f2", "li", "dev2")),
			tx.PutRefreshFamily(fam("f3", "li", "dev3")),
			tx.PutRefreshFamily(fam("f4", "wang", "dev4")),
			tx.PutRefreshToken(&store.RefreshToken{Hash: "legacy", User: "li", Device: "dev2", Expires: now}),
			tx.PutSetting("gone", []byte("x")),
		} {
			if err != nil {
				return err
			}
		}
		if err := tx.DeleteRefreshTokens("dev1"); err != nil {
			return err
		}
		if err := tx.DeleteSetting("gone"); err != nil {
			return err
		}
		return tx.DeleteUserRefreshTokens("li", "f3")
	})
	if err != nil {
		t.Fatal(err)
	}
	s.View(ctx, func(tx store.Tx) error {
		for _, id := range []string{"f1", "f2"} {
			if _, err := tx.RefreshFamily(id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("session %s survived: %v", id, err)
			}
		}
		if _, err := tx.RefreshToken("legacy"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the user's older token survived: %v", err)
		}
		got, err := tx.RefreshFamily("f3")
		if err != nil || got.Hash != "h-f3" || got.Previous != "p-f3" || !got.Replayed || !got.Created.Equal(now) {
			t.Errorf("the kept session: %+v %v", got, err)
		}
		if _, err := tx.RefreshFamily("f4"); err != nil {
			t.Errorf("another user's session: %v", err)
		}
		if _, err := tx.Setting("gone"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted setting: %v", err)
		}
		return nil
	})
	s.Update(ctx, func(tx store.Tx) error { return tx.DeleteRefreshFamily("f4") })
	s.View(ctx, func(tx store.Tx) error {
		if _, err := tx.RefreshFamily("f4"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted session: %v", err)
		}
		return nil
	})
}

func testRefsDistrictsAndScan(t *testing.T, s store.Store) {
	a := &dev{id: "A"}
	push(t, s, a, a.change(dsync.OpCreate, nil, "r1", "d1", map[string]string{"name": `"a"`}),
		a.change(dsync.OpCreate, nil, "r2", "d2", map[string]string{"name": `"b"`}))
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.PutRef("registration:ext-1", "r1"); err != nil {
			return err
		}
		return tx.PutDistrict(&model.District{Code: "d1", Name: "水塘垸村", Kind: "village", Town: "t1", County: "c1"})
	})
	if err != nil {
		t.Fatal(err)
	}
	s.View(ctx, func(tx store.Tx) error {
		if id, err := tx.Ref("registration:ext-1"); err != nil || id != "r1" {
			t.Errorf("ref: %q %v", id, err)
		}
		if _, err := tx.Ref("registration:nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing ref: %v", err)
		}
		if d, err := tx.District("d1"); err != nil || d.Name != "水塘垸村" || d.Town != "t1" {
			t.Errorf("district: %+v %v", d, err)
		}
		n := 0
		tx.ForEachRecord("registration", func(*dsync.Record) error { n++; return nil })
		m := 0
		tx.ForEachRecord("migrant_contact", func(*dsync.Record) error { m++; return nil })
		if n != 2 || m != 0 {
			t.Errorf("scan: %d registrations, %d contacts", n, m)
		}
		return nil
	})
}

func testDupCases(t *testing.T, s store.Store) {
	found := time.Now().UTC().Truncate(time.Second)
	c1 := store.DupCase{ID: "dup-1", Decision: "auto", Status: store.DupOpen, Score: 12.5, Keep: "r1",
		Members:  []store.DupMember{{Record: "r1", District: "d1"}, {Record: "r2", District: "d2"}},
		Evidence: json.RawMessage(`[{"a":"r1","b":"r2"}]`), Found: found}
	c2 := store.DupCase{ID: "dup-2", Decision: "review", Status: store.DupRejected, Found: found,
		Members:   []store.DupMember{{Record: "r3", District: "d2"}, {Record: "r4", District: "d2"}},
		DecidedBy: "wang", DecidedAt: found}
	put := func(cs ...store.DupCase) {
		t.Helper()
		err := s.Update(ctx, func(tx store.Tx) error {
			for i := range cs {
				if err := tx.PutDupCase(&cs[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	ids := func(q store.DupCaseQuery) string {
		t.Helper()
		var out []string
		err := s.View(ctx, func(tx store.Tx) error {
			cs, err := tx.DupCases(q)
			for _, c := range cs {
				out = append(out, c.ID)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(out)
	}
	put(c1, c2)
	s.View(ctx, func(tx store.Tx) error {
		got, err := tx.DupCase("dup-2")
		if err != nil || got.Status != store.DupRejected || got.DecidedBy != "wang" || !got.DecidedAt.Equal(found) ||
			len(got.Members) != 2 || got.Members[1].Record != "r4" {
			t.Errorf("case: %+v %v", got, err)
		}
		got, err = tx.DupCase("dup-1")
		if err != nil || got.Score != 12.5 || got.Keep != "r1" || string(got.Evidence) != `[{"a":"r1","b":"r2"}]` {
			t.Errorf("case: %+v %v", got, err)
		}
		if _, err := tx.DupCase("dup-9"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing case: %v", err)
		}
		return nil
	})
	for q, want := range map[*store.DupCaseQuery]string{
		{}:                                "[dup-1 dup-2]",
		{Districts: []string{"d1"}}:       "[dup-1]",
		{Districts: []string{"d2", "d1"}}: "[dup-1 dup-2]", // each case once, in ID order
		{Districts: []string{"d3"}}:       "[]",
		{Status: store.DupRejected}:       "[dup-2]",
		{Districts: []string{"d2"}, After: "dup-1"}: "[dup-2]",
		{Limit: 1}: "[dup-1]",
	} {
		if got := ids(*q); got != want {
			t.Errorf("DupCases(%+v) = %s, want %s", *q, got, want)
		}
	}
	c1.Members = []store.DupMember{{Record: "r1", District: "d3"}, {Record: "r5", District: "d3"}}
	put(c1)
	if got := ids(store.DupCaseQuery{Districts: []string{"d1"}}); got != "[]" {
		t.Errorf("after moving members, d1 still lists %s", got)
	}
	if got := ids(store.DupCaseQuery{Districts: []string{"d3"}}); got != "[dup-1]" {
		t.Errorf("d3 lists %s", got)
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteDupCase("dup-1") }); err != nil {
		t.Fatal(err)
	}
	if got := ids(store.DupCaseQuery{Districts: []string{"d3"}}); got != "[]" {
		t.Errorf("deleted case still indexed: %s", got)
	}
	if got := ids(store.DupCaseQuery{}); got != "[dup-2]" {
		t.Errorf("after delete: %s", got)
	}
}

func testServerChangesNumbered(t *testing.T, s store.Store) {
	srv := &dev{id: store.ServerDevice}
	a := srv.change(dsync.OpCreate, nil, "r1", "d1", map[string]string{"name": `"a"`})
	b := srv.change(dsync.OpCreate, nil, "r2", "d1", map[string]string{"name": `"b"`})
	a.Counter, b.Counter = 0, 0 // the server keeps no counter of its own
	rs := push(t, s, srv, a, b)
	wantStatus(t, rs, dsync.StatusApplied, dsync.StatusApplied)
	s.View(ctx, func(tx store.Tx) error {
		for _, r := range rs {
			ch, err := tx.ChangeBySeq(r.Seq)
			if err != nil || ch.Counter != r.Seq {
				t.Errorf("server change at %d numbered %+v %v", r.Seq, ch, err)
			}
		}
		return nil
	})
}

// testDecodeAll: the bulk scan passes every record of the type once,
// whatever the backend's order, across many of DecodeAll's chunks, and the
// first error fn returns ends it.
func testDecodeAll(t *testing.T, s store.Store) {
	a := &dev{id: "A"}
	const n = 2500
	var chs []dsync.Change
	for i := range n {
		typ := model.TypeRegistration
		if i%5 == 0 {
			typ = model.TypeMigrantContact
		}
		ch := a.change(dsync.OpCreate, nil, fmt.Sprintf("r%04d", i), "d1", map[string]string{"name": `"x"`})
		ch.Type = typ
		if chs = append(chs, ch); len(chs) == 500 {
			push(t, s, a, chs...)
			chs = nil
		}
	}
	s.View(ctx, func(tx store.Tx) error {
		var mu sync.Mutex
		seen := map[string]int{}
		err := store.DecodeAll(tx, model.TypeRegistration, func(rs []dsync.Record) error {
			mu.Lock()
			defer mu.Unlock()
			for _, r := range rs {
				if r.Type != model.TypeRegistration {
					t.Errorf("%s of type %s in a scan of registrations", r.ID, r.Type)
				}
				seen[r.ID]++
			}
			return nil
		})
		if err != nil || len(seen) != n-n/5 {
			t.Errorf("scan: %d registrations, want %d (%v)", len(seen), n-n/5, err)
		}
		for id, k := range seen {
			if k != 1 {
				t.Errorf("%s passed %d times", id, k)
			}
		}
		stop := errors.New("stop")
		if err := store.DecodeAll(tx, "", func([]dsync.Record) error { return stop }); !errors.Is(err, stop) {
			t.Errorf("fn's error ended the scan as %v", err)
		}
		return nil
	})
}

// testRefsInBatches: Refs answers many references at once, and what a
// writer read with it, wrote after, or wrote again reads back right, inside
// the transaction and after it; a failed transaction leaves none.
func testRefsInBatches(t *testing.T, s store.Store) {
	refs := func(tx store.Tx, keys ...string) string {
		m, err := tx.Refs(keys)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, k := range keys {
			if id, ok := m[k]; ok {
				out = append(out, k+"="+id)
			}
		}
		return strings.Join(out, " ")
	}
	update := func(fn func(tx store.Tx) error) {
		t.Helper()
		if err := s.Update(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	update(func(tx store.Tx) error {
		if got := refs(tx, "a", "b"); got != "" {
			t.Errorf("refs of an empty table: %q", got)
		}
		if err := tx.PutRef("a", "r1"); err != nil {
			return err
		}
		if id, err := tx.Ref("a"); err != nil || id != "r1" {
			t.Errorf("ref written in the transaction: %q %v", id, err)
		}
		if _, err := tx.Ref("b"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ref known absent: %v", err)
		}
		return nil
	})
	update(func(tx store.Tx) error { return tx.PutRef("b", "r2") })
	update(func(tx store.Tx) error {
		if got := refs(tx, "a", "b", "c"); got != "a=r1 b=r2" {
			t.Errorf("refs: %q", got)
		}
		return tx.PutRef("a", "r3")
	})
	s.Update(ctx, func(tx store.Tx) error {
		refs(tx, "c")
		tx.PutRef("c", "r4")
		return errors.New("rolled back")
	})
	s.View(ctx, func(tx store.Tx) error {
		if got := refs(tx, "a", "b", "c"); got != "a=r3 b=r2" {
			t.Errorf("refs after the commits: %q", got)
		}
		return nil
	})
}

// testDupCasesInOneTransaction: a writer reads back the cases it wrote
// before committing them, a case written twice keeps its last members,
// and a deleted one is gone from the lists (a full run writes every case
// in one transaction).
func testDupCasesInOneTransaction(t *testing.T, s store.Store) {
	c := store.DupCase{ID: "dup-1", Decision: "auto", Status: store.DupOpen,
		Members: []store.DupMember{{Record: "r1", District: "d1"}, {Record: "r2", District: "d2"}}}
	gone := store.DupCase{ID: "dup-2", Decision: "review", Status: store.DupOpen,
		Members: []store.DupMember{{Record: "r3", District: "d3"}, {Record: "r4", District: "d3"}}}
	list := func(tx store.Tx, districts ...string) string {
		cs, err := tx.DupCases(store.DupCaseQuery{Districts: districts})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return strings.Join(out, " ")
	}
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.PutDupCase(&gone); err != nil {
			return err
		}
		if err := tx.PutDupCase(&c); err != nil {
			return err
		}
		if got, err := tx.DupCase("dup-1"); err != nil || len(got.Members) != 2 {
			t.Errorf("a case read back before commit: %+v %v", got, err)
		}
		c.Members = c.Members[:1]
		if err := tx.PutDupCase(&c); err != nil {
			return err
		}
		if got := list(tx, "d2"); got != "" {
			t.Errorf("cases of d2 after its member left: %q", got)
		}
		if got := list(tx, "d1", "d3"); got != "dup-1 dup-2" {
			t.Errorf("cases of d1 and d3: %q", got)
		}
		if err := tx.DeleteDupCase("dup-2"); err != nil {
			return err
		}
		if got := list(tx); got != "dup-1" {
			t.Errorf("cases after a delete: %q", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.View(ctx, func(tx store.Tx) error {
		if got := list(tx, "d1"); got != "dup-1" {
			t.Errorf("cases of d1 after commit: %q", got)
		}
		if got := list(tx, "d2", "d3"); got != "" {
			t.Errorf("cases of d2 and d3 after commit: %q", got)
		}
		return nil
	})
}
