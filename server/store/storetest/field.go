package storetest

import (
	"testing"

	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// testOwnChangesLeftOut: a result applied to a state the pushing device
// held (the push named its cursor) is stored Folded, answered so again to
// a repeated push, and the record is left out of that device's pulls that
// say they hold its changes (Held, its counter), not another's; without a
// cursor nothing is folded. A backend must keep the
// result's every field (dsync.Result as JSON, or a column per field).
func testOwnChangesLeftOut(t *testing.T, s store.Store) {
	a := &dev{id: "dev-a"}
	zero := uint64(0)
	push := func(d *dev, ch dsync.Change, cursor *uint64) dsync.Result {
		t.Helper()
		res, err := store.Push(ctx, s, store.PushRequest{Device: d.id, Changes: []dsync.Change{ch}, Cursor: cursor})
		if err != nil || len(res) != 1 {
			t.Fatalf("push: %v %+v", err, res)
		}
		return res[0]
	}
	pulled := func(device string, held uint64) int {
		t.Helper()
		page, err := store.PullFor(ctx, s, store.PullQuery{Device: device, Held: held})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Records)
	}
	create := a.change(dsync.OpCreate, nil, "r1", "d1", map[string]string{"name": `"x"`})
	if r := push(a, create, &zero); !r.Folded {
		t.Fatalf("a create on nothing, with a cursor: %+v", r)
	}
	if r := push(a, create, &zero); r.Status != dsync.StatusDuplicate || !r.Folded {
		t.Fatalf("the repeated push: %+v", r)
	}
	if pulled("dev-a", a.n) != 0 || pulled("dev-a", 0) != 1 || pulled("dev-b", 5) != 1 || pulled("", 0) != 1 {
		t.Fatal("the folded record must be left out of dev-a's pull only, when it says it holds the change")
	}
	if r := push(a, a.change(dsync.OpCreate, nil, "r2", "d1", map[string]string{"name": `"y"`}), nil); r.Folded {
		t.Fatalf("folded without a cursor: %+v", r)
	}
	if pulled("dev-a", a.n) != 1 {
		t.Fatal("a record pushed without a cursor is pulled back")
	}
}
