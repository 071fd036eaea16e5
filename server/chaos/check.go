package chaos

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	sdk "github.com/dengji/dengji/client-sdk"
	"github.com/dengji/dengji/server/audit"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// serverState is what the checks read of the store once the run is over.
type serverState struct {
	log       map[string]*dsync.Change // the change log by change ID
	based     map[string]bool          // "change/field": a logged change saw that write as its base
	records   map[string]*dsync.Record
	conflicts map[string]*dsync.Conflict
	sides     map[string]bool // "change/field", and "change" for a delete conflict: a side of a stored conflict
}

// check reads the store and every device after the final syncs and returns
// every broken invariant it finds (nil: none).
func (w *world) check() ([]string, error) {
	st, err := w.backend.OpenStore()
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	err = st.View(w.ctx, func(tx store.Tx) error {
		s, err := readServer(tx, report)
		if err != nil {
			return err
		}
		w.stats.Conflicts += len(s.conflicts)
		for _, dv := range w.devs {
			if err := w.checkEdits(tx, s, dv, report); err != nil {
				return err
			}
			if err := checkDevice(s, dv, report); err != nil {
				return err
			}
		}
		if err := checkWrites(tx, s, report); err != nil {
			return err
		}
		res, err := audit.Verify(w.ctx, tx)
		if err != nil {
			return err
		}
		if res.Broken != nil {
			report("audit chain broken at entry %d: %s", res.Broken.Seq, res.Broken.Problem)
		}
		return nil
	})
	return problems, err
}

// readServer loads the change log, records and conflicts, reporting a
// change logged twice and a conflict without both sides.
func readServer(tx store.Tx, report func(string, ...any)) (*serverState, error) {
	s := &serverState{log: map[string]*dsync.Change{}, based: map[string]bool{}, records: map[string]*dsync.Record{},
		conflicts: map[string]*dsync.Conflict{}, sides: map[string]bool{}}
	high, err := tx.HighSeq()
	if err != nil {
		return nil, err
	}
	for seq := uint64(1); seq <= high; seq++ {
		ch, err := tx.ChangeBySeq(seq)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if _, twice := s.log[ch.ID]; twice {
			report("change %s (record %s) applied twice: in the log again at sequence %d", ch.ID, ch.Record, seq)
		}
		s.log[ch.ID] = ch
		for f, v := range ch.Base {
			s.based[v+"/"+f] = true
		}
	}
	err = tx.ForEachRecord("", func(r *dsync.Record) error { s.records[r.ID] = r; return nil })
	if err != nil {
		return nil, err
	}
	cs, err := tx.Conflicts(store.ConflictQuery{})
	if err != nil {
		return nil, err
	}
	for i := range cs {
		c := &cs[i]
		s.conflicts[c.ID] = c
		s.sides[c.Kept.Change+"/"+c.Field], s.sides[c.Other.Change+"/"+c.Field] = true, true
		if c.Kind != dsync.KindField { // a delete conflict holds whole records
			s.sides[c.Kept.Change], s.sides[c.Other.Change] = true, true
		}
		if c.Kept.Change == "" || c.Other.Change == "" || len(c.Other.Value) == 0 ||
			(c.Kind == dsync.KindField && (len(c.Kept.Value) == 0 || bytes.Equal(c.Kept.Value, c.Other.Value))) {
			report("conflict %s on record %s field %s does not hold both writes: kept %+v, other %+v", c.ID, c.Record, c.Field, c.Kept, c.Other)
		}
	}
	return s, nil
}

// checkEdits: every edit the device made is on the server exactly once (in
// the log), or left a stored conflict, or was refused and the device says
// so; unless a restore of the device file may have lost it.
func (w *world) checkEdits(tx store.Tx, s *serverState, dv *device, report func(string, ...any)) error {
	rejected, err := dv.d.Rejected()
	if err != nil {
		return err
	}
	refused := map[string]bool{}
	for _, r := range rejected {
		refused[r.Change.ID] = true
	}
	for i, e := range dv.edits {
		mayBeLost := dv.lostAfter >= 0 && i >= dv.lostAfter
		res, err := tx.Result(e.change)
		switch {
		case errors.Is(err, store.ErrNotFound):
			if !mayBeLost {
				report("%s's %s of record %s (change %s) never reached the server", dv.user, e.op, e.record, e.change)
			}
			continue
		case err != nil:
			return err
		}
		switch res.Status {
		case dsync.StatusRejected:
			if !refused[e.change] && !mayBeLost {
				report("%s's %s of record %s (change %s) was refused (%s) and the device was not told", dv.user, e.op, e.record, e.change, res.Code)
			}
			w.stats.Refused++
		case dsync.StatusApplied, dsync.StatusConflict:
			if res.Seq > 0 && s.log[e.change] == nil {
				report("%s's %s of record %s (change %s) was answered %s but is not in the change log", dv.user, e.op, e.record, e.change, res.Status)
			}
			for _, c := range res.Conflicts {
				if s.conflicts[c.ID] == nil {
					report("%s's %s of record %s (change %s) raised conflict %s, which is not stored", dv.user, e.op, e.record, e.change, c.ID)
				}
			}
		}
	}
	return nil
}

// checkWrites: no field write in the log was overwritten silently. A
// field a change applied still holds it, or holds an equal value, or a
// later change was made by someone who had seen it (its base), or it is
// one side of a stored conflict.
func checkWrites(tx store.Tx, s *serverState, report func(string, ...any)) error {
	for _, id := range slices.Sorted(maps.Keys(s.log)) {
		ch := s.log[id]
		res, err := tx.Result(id)
		if errors.Is(err, store.ErrNotFound) {
			continue // a change from before results were kept
		}
		if err != nil {
			return err
		}
		rec := s.records[ch.Record]
		if rec == nil {
			report("change %s is logged for record %s, which the server does not hold", id, ch.Record)
			continue
		}
		for _, f := range res.AppliedFields(ch) {
			cur := rec.Fields[f]
			if cur.Version == id || sameJSON(cur.Value, ch.Set[f]) || s.based[id+"/"+f] || s.sides[id+"/"+f] || s.sides[id] {
				continue
			}
			report("record %s field %s: the write of change %s (device %s) was overwritten silently by %s (device %s)",
				ch.Record, f, id, ch.Device, cur.Version, rec.Writers[cur.Version].Device)
		}
	}
	return nil
}

// checkDevice: after the final syncs the device has nothing pending, holds
// exactly the server's state of every record of its districts, and knows
// every decision on the conflicts it holds.
func checkDevice(s *serverState, dv *device, report func(string, ...any)) error {
	if n, err := dv.d.Pending(); err != nil || n != 0 {
		report("%s still has %d changes pending after the final syncs (%v)", dv.user, n, err)
	}
	recs, err := dv.d.List(sdk.ListFilter{IncludeDeleted: true})
	if err != nil {
		return err
	}
	held := map[string]bool{}
	for _, r := range recs {
		held[r.ID] = true
		want := s.records[r.ID]
		switch {
		case want == nil || !slices.Contains(dv.spec.Scope, want.District):
			report("%s holds record %s, which the server does not give it", dv.user, r.ID)
		case !sameRecord(r, want):
			report("%s's record %s diverged from the server's:\n  device %s\n  server %s", dv.user, r.ID, brief(r), brief(want))
		}
	}
	for id, r := range s.records {
		if !held[id] && !r.Deleted() && slices.Contains(dv.spec.Scope, r.District) {
			report("%s is missing record %s of district %s", dv.user, id, r.District)
		}
	}
	cs, err := dv.d.Conflicts()
	if err != nil {
		return err
	}
	for _, c := range cs {
		if sc := s.conflicts[c.ID]; sc != nil && sc.Status == dsync.ConflictResolved && c.Status != dsync.ConflictResolved {
			report("%s was not told the decision on conflict %s (record %s)", dv.user, c.ID, c.Record)
		}
	}
	return nil
}

func sameRecord(a, b *dsync.Record) bool {
	if a.Deleted() != b.Deleted() {
		return false
	}
	av, bv := a.Values(), b.Values()
	return maps.EqualFunc(av, bv, sameJSON)
}

func sameJSON(a, b json.RawMessage) bool {
	var x, y bytes.Buffer
	return json.Compact(&x, a) == nil && json.Compact(&y, b) == nil && bytes.Equal(x.Bytes(), y.Bytes())
}

// brief shows a record by its field versions and deletion, never its values
// (they are synthetic here, but the habit holds).
func brief(r *dsync.Record) string {
	out := map[string]string{}
	for k, f := range r.Fields {
		out[k] = f.Version
	}
	b, _ := json.Marshal(out)
	return fmt.Sprintf("deleted=%v versions=%s", r.Deleted(), b)
}
