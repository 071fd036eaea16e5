package dedupjob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	json "github.com/dengji/dengji/internal/jsonx"

	"github.com/dengji/dengji/server/dedup"
	"github.com/dengji/dengji/server/store"
)

// batchResult is what a run hands to save.
type batchResult struct {
	proposals []dedup.Case
	dead      map[string]string   // registrations gone (deleted or removed): record ID to district
	district  func(string) string // a record's district ("" if not known)
	// touched, for an incremental run, are the records whose cases the run
	// may touch: only those cases are read and reconciled (found through
	// the job's caseOf). nil: every case (a full run).
	touched map[string]bool
	// changed are the batch's registrations: a registrar learns of a case
	// one of them joins (a notice). nil: none (a full run).
	changed map[string]bool
	also    func(tx store.Tx) error // more to write in the same transaction (nil: nothing)
}

// save reconciles proposals with the stored cases and writes the result in
// one transaction. The stored cases are read inside it, so a decision taken
// while the engine ran is kept. Open cases with a dead member are dropped
// first: the registration they name is gone.
func (j *Job) save(ctx context.Context, sum *Summary, b batchResult) error {
	now := j.opt.Now().UTC()
	var idx caseIndex
	err := j.st.Update(ctx, func(tx store.Tx) error {
		stored, err := j.storedCases(tx, b.touched)
		if err != nil {
			return err
		}
		if idx = j.caseOf; b.touched == nil || idx == nil {
			idx = caseIndex{}
		}
		byID := make(map[string]*store.DupCase, len(stored))
		prev := make([]dedup.Case, 0, len(stored))
		for i := range stored {
			c := &stored[i]
			byID[c.ID] = c
			if c.Status == store.DupOpen && touches(c, b.dead) {
				continue
			}
			ec, err := engineCase(c)
			if err != nil {
				return err
			}
			prev = append(prev, ec)
		}
		out := dedup.Reconcile(prev, b.proposals, sum.Full)
		j.progress(PhaseSave, 0, len(out))
		kept, err := j.writeCases(tx, sum, out, byID, &b, now)
		if err != nil {
			return err
		}
		for i := range stored {
			if c := &stored[i]; !kept[c.ID] && c.Status == store.DupOpen {
				if err := dropCase(tx, c, now); err != nil {
					return err
				}
				sum.Dropped++
			}
		}
		for i := range stored {
			idx.remove(&stored[i])
		}
		for i := range out {
			idx.add(out[i].ID, out[i].Records)
		}
		sum.Cases = len(out)
		j.progress(PhaseSave, len(out), len(out))
		if b.also != nil {
			if err := b.also(tx); err != nil {
				return err
			}
		}
		return j.putSummary(tx, sum)
	})
	if err != nil {
		j.caseOf = nil // changed in place for a save that failed: read every case next time
		return fmt.Errorf("dedupjob: save cases: %w", err)
	}
	j.caseOf = idx // only the run under way reads it
	return nil
}

// storedCases reads the cases holding one of the touched records (nil:
// every case; so too while the job knows no cases by member yet).
func (j *Job) storedCases(tx store.Tx, touched map[string]bool) ([]store.DupCase, error) {
	if touched == nil || j.caseOf == nil {
		return tx.DupCases(store.DupCaseQuery{})
	}
	var out []store.DupCase
	for _, id := range j.caseOf.cases(touched) {
		c, err := tx.DupCase(id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, nil
}

// caseIndex finds the stored cases holding a record: record ID to case IDs.
type caseIndex map[string][]string

func (x caseIndex) add(id string, records []string) {
	for _, r := range records {
		if !slices.Contains(x[r], id) {
			x[r] = append(x[r], id)
		}
	}
}

func (x caseIndex) remove(c *store.DupCase) {
	for _, m := range c.Members {
		x[m.Record] = slices.DeleteFunc(x[m.Record], func(id string) bool { return id == c.ID })
		if len(x[m.Record]) == 0 {
			delete(x, m.Record)
		}
	}
}

// cases lists, sorted and each once, the cases holding the records.
func (x caseIndex) cases(records map[string]bool) []string {
	var out []string
	for r := range records {
		out = append(out, x[r]...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// writeCases stores the open cases of out that changed and counts them all.
func (j *Job) writeCases(tx store.Tx, sum *Summary, out []dedup.Case, byID map[string]*store.DupCase,
	b *batchResult, now time.Time) (map[string]bool, error) {
	kept := make(map[string]bool, len(out))
	for i := range out {
		c := &out[i]
		kept[c.ID] = true
		switch c.Status {
		case dedup.StatusConfirmed:
			sum.Confirmed++
			continue
		case dedup.StatusRejected:
			sum.Rejected++
			continue
		}
		if c.Decision == dedup.Auto {
			sum.Auto++
		} else {
			sum.Review++
		}
		old := byID[c.ID]
		sc, err := storeCase(c, old, b.district, now)
		if err != nil {
			return nil, err
		}
		if old == nil {
			sum.New++
		} else if same(old, sc) {
			continue
		}
		if err := tx.PutDupCase(sc); err != nil {
			return nil, err
		}
		if err := notify(tx, sc, b.changed, now); err != nil {
			return nil, err
		}
	}
	return kept, nil
}

func (j *Job) putSummary(tx store.Tx, sum *Summary) error {
	sum.Seconds = j.opt.Now().Sub(sum.Started).Seconds()
	v, err := json.Marshal(sum)
	if err != nil {
		return err
	}
	if err := tx.PutSetting(SettingLast, v); err != nil {
		return err
	}
	return tx.PutSetting(SettingSeq, formatSeq(sum.Seq))
}

func touches(c *store.DupCase, dead map[string]string) bool {
	for _, m := range c.Members {
		if isDead(dead, m.Record) {
			return true
		}
	}
	return false
}

// engineCase is a stored case as dedup.Reconcile reads it.
func engineCase(c *store.DupCase) (dedup.Case, error) {
	ec := dedup.Case{ID: c.ID, Records: c.Records(), Decision: dedup.Decision(c.Decision),
		Status: dedup.Status(c.Status), Keep: c.Keep, Score: c.Score}
	if len(c.Evidence) > 0 {
		if err := json.Unmarshal(c.Evidence, &ec.Evidence); err != nil {
			return ec, fmt.Errorf("case %s: evidence: %w", c.ID, err)
		}
	}
	return ec, nil
}

// storeCase is an engine case as stored; members keep the district they
// had when the registration is no longer known.
func storeCase(c *dedup.Case, old *store.DupCase, district func(string) string, now time.Time) (*store.DupCase, error) {
	sc := &store.DupCase{ID: c.ID, Decision: string(c.Decision), Status: store.DupStatus(c.Status),
		Score: c.Score, Keep: c.Keep, Found: now}
	if old != nil {
		sc.Found = old.Found
	}
	for _, r := range c.Records {
		d := district(r)
		if d == "" && old != nil {
			for _, m := range old.Members {
				if m.Record == r {
					d = m.District
				}
			}
		}
		sc.Members = append(sc.Members, store.DupMember{Record: r, District: d})
	}
	if len(c.Evidence) > 0 {
		ev, err := json.Marshal(c.Evidence)
		if err != nil {
			return nil, err
		}
		sc.Evidence = ev
	}
	return sc, nil
}

// same reports whether storing b over a would change nothing.
func same(a, b *store.DupCase) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
