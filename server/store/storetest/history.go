package storetest

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// testRecordHistory: a record's accepted changes, in order, with their
// authors and devices; another record's are not among them.
func testRecordHistory(t *testing.T, s store.Store) {
	a, b := &dev{id: "A"}, &dev{id: "B"}
	r1 := push(t, s, a, a.change(dsync.OpCreate, nil, "r1", "d1", map[string]string{"name": `"黄金"`}))
	push(t, s, a, a.change(dsync.OpCreate, nil, "r1x", "d1", map[string]string{"name": `"王雄"`}))
	r2 := push(t, s, b, b.change(dsync.OpUpdate, record(t, s, "r1"), "r1", "d1", map[string]string{"phone": `"13800000000"`}))
	var hist []store.HistoryEntry
	err := s.View(ctx, func(tx store.Tx) error {
		var err error
		hist, err = store.RecordHistory(tx, "r1")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Seq != r1[0].Seq || hist[1].Seq != r2[0].Seq ||
		hist[0].Change.Device != "A" || hist[1].Change.Author != "u-B" || string(hist[1].Change.Set["phone"]) != `"13800000000"` {
		t.Fatalf("history of r1: %+v", hist)
	}
	s.View(ctx, func(tx store.Tx) error {
		if seqs, _ := tx.RecordChanges("r"); len(seqs) != 0 {
			t.Errorf("a record ID that is a prefix of others has no history: %v", seqs)
		}
		return nil
	})
}

// testReopenConflict: a resolved conflict reopened with a reason (none is
// refused) is open again with its earlier decision kept; deciding kept then
// writes the kept value back, and both steps are in the audit log.
func testReopenConflict(t *testing.T, s store.Store) {
	a, b := &dev{id: "A"}, &dev{id: "B"}
	push(t, s, a, a.change(dsync.OpCreate, nil, "r1", "d1", map[string]string{"name": `"王雄"`}))
	seen := record(t, s, "r1")
	push(t, s, a, a.change(dsync.OpUpdate, seen, "r1", "d1", map[string]string{"name": `"王熊"`}))
	rs := push(t, s, b, b.change(dsync.OpUpdate, seen, "r1", "d1", map[string]string{"name": `"汪雄"`}))
	id := rs[0].Conflicts[0].ID
	if _, err := store.ReopenConflict(ctx, s, store.Reopen{ID: id, Reason: "误操作", By: "coord"}); !errors.Is(err, store.ErrNotDecided) {
		t.Fatalf("reopening an open conflict: %v", err)
	}
	if _, err := store.ResolveConflict(ctx, s, store.Resolve{Conflict: id, Choice: store.ChoiceOther, By: "coord"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", strings.Repeat("长", store.MaxReasonLen+1), "a\x00b"} {
		if _, err := store.ReopenConflict(ctx, s, store.Reopen{ID: id, Reason: bad, By: "coord"}); !errors.Is(err, store.ErrReason) {
			t.Errorf("reason %q: %v", bad, err)
		}
	}
	c, err := store.ReopenConflict(ctx, s, store.Reopen{ID: id, Reason: "选错了", By: "coord2"})
	if err != nil || c.Status != dsync.ConflictOpen || c.Resolution == nil || c.Resolution.Choice != store.ChoiceOther {
		t.Fatalf("reopened: %+v %v", c, err)
	}
	if v := record(t, s, "r1").Fields["name"].Value; string(v) != `"汪雄"` {
		t.Fatalf("reopening must not change the record: %s", v)
	}
	if _, err := store.ResolveConflict(ctx, s, store.Resolve{Conflict: id, Choice: store.ChoiceKept, By: "coord2"}); err != nil {
		t.Fatal(err)
	}
	if v := record(t, s, "r1").Fields["name"].Value; string(v) != `"王熊"` {
		t.Fatalf("kept after a reopening must put the kept value back: %s", v)
	}
	var actions []string
	s.View(ctx, func(tx store.Tx) error {
		es, err := tx.AuditEntries(0, 0)
		for _, e := range es {
			actions = append(actions, string(e.Action)+":"+e.Actor)
		}
		return err
	})
	if !slices.Contains(actions, "conflict_reopened:coord2") || !slices.Contains(actions, "conflict_resolved:coord2") {
		t.Fatalf("audit log: %v", actions)
	}
}
