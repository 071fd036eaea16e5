package dedup

import (
	"fmt"
)

// Rebuild makes the index a full run would have left, without running one:
// the records are prepared, counted and blocked as a full run does, but no
// pair is scored and no weight estimated. The weights are those a full run
// estimated (Index.Weights, kept by the caller), and clusters are the
// automatic clusters stored since (record IDs; IDs not among recs are
// ignored). A process that restarts rebuilds its index this way instead of
// running in full, and its incremental matches then cost what they cost
// before the restart. recs must not be modified while the index is used.
func Rebuild(recs []Record, w *Weights, clusters [][]string, opt Options) (*Index, error) {
	if w == nil {
		return nil, fmt.Errorf("dedup: rebuild: %w", ErrNoWeights)
	}
	ix, err := newIndex(recs, opt)
	if err != nil {
		return nil, err
	}
	ix.w = w
	ix.setPrior()
	ix.bi.recStart, ix.bi.recBlock = nil, nil // only a full run walks blocks per record
	ix.cluster = make([]int32, len(ix.ps), withRoom(len(ix.ps)))
	for i := range ix.cluster {
		ix.cluster[i] = -1
	}
	for _, ids := range clusters {
		ix.adoptCluster(ids)
	}
	return ix, nil
}

// adoptCluster records the indexed records of ids as one automatic cluster.
func (ix *Index) adoptCluster(ids []string) {
	k := int32(len(ix.members))
	var m []int32
	for _, id := range ids {
		if p, ok := ix.pos[id]; ok && !ix.isDead(p) {
			ix.cluster[p] = k
			m = append(m, p)
		}
	}
	if len(m) < 2 {
		for _, p := range m {
			ix.cluster[p] = -1
		}
		return
	}
	ix.members = append(ix.members, m)
}

// Remove takes records out of the index (a registration deleted or marked
// removed): later matches no longer propose them, and their values no
// longer count in the frequencies. Unknown IDs are ignored. Remove must not
// run concurrently with Match, Add or Explain.
func (ix *Index) Remove(ids []string) {
	for _, id := range ids {
		if p, ok := ix.pos[id]; ok {
			ix.retire(p)
			delete(ix.pos, id)
		}
	}
	ix.setPrior()
}

// Has reports whether a record is indexed.
func (ix *Index) Has(id string) bool {
	_, ok := ix.pos[id]
	return ok
}

// District is the district of an indexed record ("" if not indexed).
func (ix *Index) District(id string) string {
	if p, ok := ix.pos[id]; ok {
		return ix.record(p).District
	}
	return ""
}

// SetWorkers sets how many goroutines later matches use (at least one),
// e.g. one for matching in the background while the server serves.
func (ix *Index) SetWorkers(n int) { ix.opt.Workers = max(1, n) }
