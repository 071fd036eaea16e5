package dedupjob

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"

	json "github.com/dengji/dengji/internal/jsonx"

	"github.com/dengji/dengji/server/dedup"
	"github.com/dengji/dengji/server/store"
)

// kept is what the store keeps of the index: the last full run's weights
// and the feed sequence matched so far.
type kept struct {
	weights *dedup.Weights
	seq     uint64
}

// readKept reads the kept index state; ok is false when no full run kept
// its weights (a store never checked, or checked by an older version).
func readKept(tx store.Tx) (k kept, ok bool, err error) {
	w, err := tx.Setting(SettingWeights)
	if errors.Is(err, store.ErrNotFound) {
		return k, false, nil
	}
	if err != nil {
		return k, false, err
	}
	k.weights = new(dedup.Weights)
	if err := json.Unmarshal(w, k.weights); err != nil {
		return k, false, fmt.Errorf("dedupjob: kept weights: %w", err)
	}
	k.seq, ok, err = keptSeq(tx)
	return k, ok, err
}

// keptSeq reads the feed sequence the last run matched; ok is false when
// no run ever kept one.
func keptSeq(tx store.Tx) (seq uint64, ok bool, err error) {
	s, err := tx.Setting(SettingSeq)
	if errors.Is(err, store.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	if seq, err = strconv.ParseUint(string(s), 10, 64); err != nil {
		return 0, false, fmt.Errorf("dedupjob: kept sequence %q: %w", s, err)
	}
	return seq, true, nil
}

// canIncrement reports whether an incremental run can be one: the index
// is in memory, or the store keeps what rebuilds it.
func (j *Job) canIncrement(ctx context.Context) bool {
	if j.hasIndex() {
		return true
	}
	ok := false
	err := j.st.View(ctx, func(tx store.Tx) error {
		var err error
		_, ok, err = readKept(tx)
		return err
	})
	return err == nil && ok
}

// restore rebuilds the index of a fresh process from the store: the
// registrations the kept sequence had matched, the kept weights and the
// automatic cases stored (but rejected ones). What committed after the kept
// sequence is left to the incremental run that follows. Without kept
// weights it does nothing, and the run is a full one.
func (j *Job) restore(ctx context.Context) error {
	if j.hasIndex() {
		return nil
	}
	var k kept
	var ok bool
	var clusters [][]string
	var caseOf caseIndex
	err := j.st.View(ctx, func(tx store.Tx) error {
		var err error
		if k, ok, err = readKept(tx); err != nil || !ok {
			return err
		}
		clusters, caseOf, err = autoClusters(tx)
		return err
	})
	if err != nil || !ok {
		return err
	}
	recs, _, _, err := j.loadAll(ctx, k.seq, math.MaxUint64)
	if err != nil {
		return err
	}
	j.progress(PhaseIndex, 0, len(recs))
	ix, err := dedup.Rebuild(recs, k.weights, clusters, j.opt.Engine)
	if err != nil {
		return fmt.Errorf("dedupjob: rebuild index: %w", err)
	}
	j.progress(PhaseIndex, len(recs), len(recs))
	j.caseOf = caseOf
	j.setIndex(ix, k.seq, len(recs))
	return nil
}

// autoClusters lists the members of the stored automatic cases a person
// has not rejected (the clusters a full run's index would hold), and every
// stored case by member.
func autoClusters(tx store.Tx) ([][]string, caseIndex, error) {
	cases, err := tx.DupCases(store.DupCaseQuery{})
	if err != nil {
		return nil, nil, err
	}
	var out [][]string
	idx := caseIndex{}
	for i := range cases {
		rs := cases[i].Records()
		idx.add(cases[i].ID, rs)
		if cases[i].Decision == string(dedup.Auto) && cases[i].Status != store.DupRejected {
			out = append(out, rs)
		}
	}
	return out, idx, nil
}

func (j *Job) hasIndex() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.ix != nil
}
