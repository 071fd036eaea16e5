package sync

import (
	"encoding/json"
	"testing"
	"time"
)

// author makes changes the way a device does: bases from the record it sees.
type author struct {
	device string
	n      uint64
}

func (a *author) change(op Op, seen *Record, id string, set map[string]string) *Change {
	a.n++
	ch := &Change{ID: a.device + "-" + string(rune('a'+a.n)), Device: a.device, Counter: a.n,
		Record: id, Type: "registration", District: "d1", Op: op,
		Set: map[string]json.RawMessage{}, Base: map[string]string{}, HLC: MakeHLC(1000, uint16(a.n))}
	for k, v := range set {
		ch.Set[k] = json.RawMessage(v)
	}
	if seen != nil {
		for k := range ch.Set {
			ch.Base[k] = seen.Version(k)
		}
		ch.Base[FieldDeleted] = seen.Version(FieldDeleted)
		if op == OpDelete {
			for k, f := range seen.Fields {
				ch.Base[k] = f.Version
			}
		}
	}
	return ch
}

func mustMerge(t *testing.T, cur *Record, ch *Change, want Status) (*Record, Outcome) {
	t.Helper()
	next, out := Merge(cur, ch)
	if out.Status != want {
		t.Fatalf("merge %s: status %s (%s %s), want %s", ch.ID, out.Status, out.Code, out.Reason, want)
	}
	return next, out
}

func value(r *Record, f string) string { return string(r.Fields[f].Value) }

func seed(t *testing.T) (*Record, *author, *author) {
	a, b := &author{device: "A"}, &author{device: "B"}
	rec, _ := mustMerge(t, nil, a.change(OpCreate, nil, "r1", map[string]string{
		"name": `"王雄"`, "phone": `"13800000000"`}), StatusApplied)
	return rec, a, b
}

func TestMerge_Create(t *testing.T) {
	rec, _, _ := seed(t)
	if value(rec, "name") != `"王雄"` || rec.Version("name") != "A-b" || rec.Writers["A-b"].Device != "A" {
		t.Fatalf("created record: %+v", rec)
	}
}

func TestMerge_SequentialEditsApply(t *testing.T) {
	rec, a, b := seed(t)
	rec, _ = mustMerge(t, rec, a.change(OpUpdate, rec, "r1", map[string]string{"name": `"王雄二"`}), StatusApplied)
	rec, _ = mustMerge(t, rec, b.change(OpUpdate, rec, "r1", map[string]string{"name": `"王雄三"`}), StatusApplied)
	if value(rec, "name") != `"王雄三"` {
		t.Fatalf("name %s", value(rec, "name"))
	}
	if len(rec.Writers) != 2 { // name by B, phone by A's create
		t.Fatalf("writers not pruned: %v", rec.Writers)
	}
}

func TestMerge_ConcurrentDifferentFieldsBothApply(t *testing.T) {
	rec, a, b := seed(t)
	seen := rec.Clone()
	rec, _ = mustMerge(t, rec, a.change(OpUpdate, seen, "r1", map[string]string{"name": `"王熊"`}), StatusApplied)
	rec, _ = mustMerge(t, rec, b.change(OpUpdate, seen, "r1", map[string]string{"phone": `"13900000000"`}), StatusApplied)
	if value(rec, "name") != `"王熊"` || value(rec, "phone") != `"13900000000"` {
		t.Fatalf("merged record: %v", rec.Values())
	}
}

func TestMerge_ConcurrentSameFieldConflicts(t *testing.T) {
	rec, a, b := seed(t)
	seen := rec.Clone()
	rec, _ = mustMerge(t, rec, a.change(OpUpdate, seen, "r1", map[string]string{"name": `"王熊"`}), StatusApplied)
	chB := b.change(OpUpdate, seen, "r1", map[string]string{"name": `"汪雄"`, "phone": `"1"`})
	next, out := mustMerge(t, rec, chB, StatusConflict)
	if value(next, "name") != `"王熊"` {
		t.Fatalf("first committed value must stay provisionally, got %s", value(next, "name"))
	}
	if value(next, "phone") != `"1"` || !out.Changed {
		t.Fatalf("the non-conflicting field of the same change must apply")
	}
	c := out.Conflicts[0]
	if c.Kind != KindField || c.Field != "name" || string(c.Kept.Value) != `"王熊"` ||
		string(c.Other.Value) != `"汪雄"` || c.Kept.Device != "A" || c.Other.Device != "B" ||
		c.Base.Change != seen.Version("name") || c.ID != chB.ID+":name" {
		t.Fatalf("conflict: %+v", c)
	}
}

func TestMerge_ConcurrentEqualValuesConverge(t *testing.T) {
	rec, a, b := seed(t)
	seen := rec.Clone()
	rec, _ = mustMerge(t, rec, a.change(OpUpdate, seen, "r1", map[string]string{"name": `"王熊"`}), StatusApplied)
	_, out := mustMerge(t, rec, b.change(OpUpdate, seen, "r1", map[string]string{"name": ` "王熊" `}), StatusApplied)
	if out.Changed || len(out.Conflicts) != 0 {
		t.Fatalf("equal concurrent values must converge silently: %+v", out)
	}
}

func TestMerge_EditConcurrentWithDeleteIsConflict(t *testing.T) {
	rec, a, b := seed(t)
	seen := rec.Clone()
	rec, _ = mustMerge(t, rec, a.change(OpDelete, seen, "r1", map[string]string{FieldDeleted: "true"}), StatusApplied)
	next, out := mustMerge(t, rec, b.change(OpUpdate, seen, "r1", map[string]string{"phone": `"2"`}), StatusConflict)
	if !next.Deleted() || out.Changed {
		t.Fatal("a concurrent edit must not resurrect the record silently")
	}
	if c := out.Conflicts[0]; c.Kind != KindEditDeleted || string(c.Other.Value) != `{"phone":"2"}` {
		t.Fatalf("conflict must keep the edit: %+v", c)
	}
}

func TestMerge_DeleteConcurrentWithEditIsConflict(t *testing.T) {
	rec, a, b := seed(t)
	seen := rec.Clone()
	rec, _ = mustMerge(t, rec, a.change(OpUpdate, seen, "r1", map[string]string{"phone": `"3"`}), StatusApplied)
	next, out := mustMerge(t, rec, b.change(OpDelete, seen, "r1", map[string]string{FieldDeleted: "true"}), StatusConflict)
	if next.Deleted() {
		t.Fatal("a delete that did not see the latest edit must not apply silently")
	}
	if c := out.Conflicts[0]; c.Kind != KindDeleteEdited || string(c.Kept.Value) != `{"phone":"3"}` {
		t.Fatalf("conflict: %+v", c)
	}
}

func TestMerge_EditAfterSeenDeleteRejected(t *testing.T) {
	rec, a, _ := seed(t)
	rec, _ = mustMerge(t, rec, a.change(OpDelete, rec, "r1", map[string]string{FieldDeleted: "true"}), StatusApplied)
	_, out := mustMerge(t, rec, a.change(OpUpdate, rec, "r1", map[string]string{"phone": `"4"`}), StatusRejected)
	if out.Code != CodeRecordDeleted {
		t.Fatalf("code %s", out.Code)
	}
}

func TestMerge_Rejections(t *testing.T) {
	rec, a, _ := seed(t)
	upd := a.change(OpUpdate, rec, "r2", map[string]string{"name": `"x"`})
	if _, out := Merge(nil, upd); out.Code != CodeUnknownRecord {
		t.Errorf("update of unknown record: %s", out.Code)
	}
	moved := a.change(OpUpdate, rec, "r1", map[string]string{"name": `"x"`})
	moved.District = "d2"
	if _, out := Merge(rec, moved); out.Code != CodeRecordMismatch {
		t.Errorf("district change: %s", out.Code)
	}
	bad := a.change(OpUpdate, rec, "r1", map[string]string{"Name!": `"x"`})
	if _, out := Merge(rec, bad); out.Code != CodeInvalidChange {
		t.Errorf("bad field name: %s", out.Code)
	}
	del := a.change(OpDelete, rec, "r1", map[string]string{FieldDeleted: "true", "name": `"x"`})
	if _, out := Merge(rec, del); out.Code != CodeInvalidChange {
		t.Errorf("delete that also sets fields: %s", out.Code)
	}
}

func TestMerge_DoesNotModifyInput(t *testing.T) {
	rec, a, _ := seed(t)
	before, _ := json.Marshal(rec)
	Merge(rec, a.change(OpUpdate, rec, "r1", map[string]string{"name": `"x"`}))
	after, _ := json.Marshal(rec)
	if string(before) != string(after) {
		t.Fatal("Merge modified its input")
	}
}

func TestClock_MonotonicWhenWallGoesBack(t *testing.T) {
	wall := int64(5000)
	c := NewClock(MakeHLC(9000, 3))
	c.Now = func() time.Time { return time.UnixMilli(wall) }
	a := c.Tick()
	wall = 100
	b := c.Tick()
	if !(b > a) || a <= MakeHLC(9000, 3) {
		t.Fatalf("clock went back: %v then %v", a, b)
	}
	c.Observe(MakeHLC(20000, 0))
	if c.Tick() <= MakeHLC(20000, 0) {
		t.Fatal("tick after observe must order after the observed time")
	}
}

func TestHLC_JSONRoundTrip(t *testing.T) {
	h := MakeHLC(1732465000123, 7)
	b, _ := json.Marshal(h)
	var back HLC
	if err := json.Unmarshal(b, &back); err != nil || back != h {
		t.Fatalf("round trip %s -> %v (%v)", b, back, err)
	}
}

func TestResult_AppliedFields(t *testing.T) {
	create := &Change{Op: OpCreate, Set: map[string]json.RawMessage{"b": nil, "a": nil}}
	if got := (&Result{Status: StatusApplied}).AppliedFields(create); len(got) != 2 || got[0] != "a" {
		t.Fatalf("an applied create wrote every field it sets, got %v", got)
	}
	update := &Change{Op: OpUpdate, Set: create.Set}
	if got := (&Result{Status: StatusConflict, Applied: []string{"b"}}).AppliedFields(update); len(got) != 1 || got[0] != "b" {
		t.Fatalf("an update wrote what Applied lists, got %v", got)
	}
	if got := (&Result{Status: StatusDuplicate, Seq: 7}).AppliedFields(create); len(got) != 2 {
		t.Fatalf("the duplicate of an applied create repeats that it wrote every field, got %v", got)
	}
	if got := (&Result{Status: StatusDuplicate, Code: CodeValidation}).AppliedFields(create); len(got) != 0 {
		t.Fatalf("the duplicate of a refused create wrote nothing, got %v", got)
	}
	if got := (&Result{Status: StatusRejected}).AppliedFields(create); len(got) != 0 {
		t.Fatalf("a rejected create wrote nothing, got %v", got)
	}
}
