package dedup

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// Match scores a batch of new or changed records against the index and
// among themselves, without a full run, and returns the clusters that
// contain a batch record (with the indexed records they join) and review
// cases touching the batch. A batch record whose ID is already indexed
// replaces the indexed version. The index is not modified; weights and
// frequencies are those of the full run plus the batch's own counts.
func (ix *Index) Match(batch []Record) (*Result, error) {
	res, _, err := ix.match(batch)
	return res, err
}

func (ix *Index) match(batch []Record) (*Result, *nodeSet, error) {
	start := time.Now()
	if _, err := positions(batch); err != nil {
		return nil, nil, err
	}
	ns := &nodeSet{ix: ix, batch: batch, bps: make([]prep, len(batch))}
	parallelRange(len(batch), ix.opt.Workers, func(lo, hi int) {
		for k := lo; k < hi; k++ {
			ns.bps[k] = prepare(&batch[k], ix.opt.IDChecksum)
		}
	})
	ns.bst = ix.batchStats(ns.bps)
	masked := map[int32]bool{}
	for _, r := range batch {
		if p, ok := ix.pos[r.ID]; ok {
			masked[p] = true
		}
	}
	links, compared, split, skipped := ix.matchIndex(ns, masked)
	intra, c2 := ix.matchBatch(ns)
	links = append(links, intra...)
	res := ix.clusterBatch(ns, links, masked)
	res.Stats.Records = len(batch)
	res.Stats.Comparisons = compared + c2
	res.Stats.SplitBlocks = split
	res.Stats.OversizedBlocks = skipped
	res.Stats.Elapsed = time.Since(start)
	return res, ns, nil
}

// batchStats adds the batch's own name, pinyin and date counts to the index's.
func (ix *Index) batchStats(bps []prep) []recStat {
	local := countFreqs(bps)
	st := make([]recStat, len(bps))
	for k := range bps {
		p := &bps[k]
		st[k] = recStat{name: ix.fr.name[p.name] + local.name[p.name], py: ix.fr.py[p.py] + local.py[p.py],
			birth: ix.fr.birth[p.birth] + local.birth[p.birth]}
		st[k].name, st[k].py, st[k].birth = max(1, st[k].name), max(1, st[k].py), max(1, st[k].birth)
	}
	return st
}

// matchIndex scores each batch record against the indexed records sharing
// a key with it; in a block the record would make larger than SplitBlock,
// against those sharing a sub-block (the index holds the sub-blocks of
// every block that large, as the full run does).
func (ix *Index) matchIndex(ns *nodeSet, masked map[int32]bool) (links []pairLink, compared, split, skipped int) {
	n := int32(len(ix.ps))
	splitAt := ix.opt.splitAt()
	var mu sync.Mutex
	parallelRange(len(ns.bps), ix.opt.Workers, func(lo, hi int) {
		var keys, subs []uint64
		var out []pairLink
		cnt, spl, sk := 0, 0, 0
		seen := map[int32]struct{}{}
		for k := lo; k < hi; k++ {
			clear(seen)
			p := &ns.bps[k]
			t, sh := tagOf(p), newSplitHashes(p)
			score := func(block []posting) {
				for _, q := range block {
					if _, dup := seen[q.rec]; dup || masked[q.rec] || ix.isDead(q.rec) {
						continue
					}
					seen[q.rec] = struct{}{}
					cnt++
					if implausible(t, q.tag) {
						continue
					}
					if l, ok := ix.scorePair(&ix.ps[q.rec], p, ix.st[q.rec], ns.bst[k]); ok {
						l.a, l.b = q.rec, n+int32(k)
						out = append(out, l)
					}
				}
			}
			keys = appendKeys(keys[:0], p, ix.opt.IDChecksum)
			for _, h := range keys {
				main, delta := ix.bi.lookup(h)
				if len(main)+len(delta)+1 <= splitAt {
					score(concatPostings(main, delta))
					continue
				}
				spl++
				subs = splitKeys(subs[:0], h, p, sh)
				for _, s := range subs {
					main, delta := ix.bi.lookup(s)
					if len(main)+len(delta)+1 > ix.opt.MaxBlock {
						sk++
						continue
					}
					score(concatPostings(main, delta))
				}
			}
		}
		mu.Lock()
		links = append(links, out...)
		compared += cnt
		split += spl
		skipped += sk
		mu.Unlock()
	})
	return links, compared, split, skipped
}

// matchBatch scores the batch records among themselves.
func (ix *Index) matchBatch(ns *nodeSet) ([]pairLink, int) {
	n := int32(len(ix.ps))
	bi := buildBlocks(ns.bps, ix.opt)
	var out []pairLink
	cnt := 0
	seen := map[int32]struct{}{}
	for i := int32(0); i < int32(len(ns.bps)); i++ {
		clear(seen)
		t := tagOf(&ns.bps[i])
		for _, x := range bi.recBlock[bi.recStart[i]:bi.recStart[i+1]] {
			for _, q := range bi.later(x) {
				j := q.rec
				if _, dup := seen[j]; dup {
					continue
				}
				seen[j] = struct{}{}
				cnt++
				if implausible(t, q.tag) {
					continue
				}
				if l, ok := ix.scorePair(&ns.bps[i], &ns.bps[j], ns.bst[i], ns.bst[j]); ok {
					l.a, l.b = n+i, n+j
					out = append(out, l)
				}
			}
		}
	}
	return out, cnt
}

// clusterBatch clusters the batch links on top of the full run's clusters
// of the indexed records they touch.
func (ix *Index) clusterBatch(ns *nodeSet, links []pairLink, masked map[int32]bool) *Result {
	n := int32(len(ix.ps))
	slot := map[int32]int32{}
	add := func(g int32) int32 {
		if s, ok := slot[g]; ok {
			return s
		}
		s := int32(len(ns.glob))
		slot[g] = s
		ns.glob = append(ns.glob, g)
		return s
	}
	for _, l := range links {
		for _, g := range [2]int32{l.a, l.b} {
			add(g)
			if g < n && ix.cluster[g] >= 0 {
				for _, m := range ix.members[ix.cluster[g]] {
					if !masked[m] && !ix.isDead(m) && ix.cluster[m] == ix.cluster[g] {
						add(m)
					}
				}
			}
		}
	}
	c := newClusterer(len(ns.glob), ix.opt.MaxCluster)
	for s := range ns.glob {
		if _, p := ns.rec(int32(s)); p.idValid {
			c.vid[s] = p.id
		}
	}
	var seeded []int32
	for s, g := range ns.glob {
		if g < n && ix.cluster[g] >= 0 {
			for _, m := range ix.members[ix.cluster[g]] {
				if t, ok := slot[m]; ok && t != int32(s) && ix.cluster[m] == ix.cluster[g] {
					c.union(int32(s), t)
				}
			}
			seeded = append(seeded, int32(s))
		}
	}
	local := make([]pairLink, len(links))
	for i, l := range links {
		l.a, l.b = slot[l.a], slot[l.b]
		local[i] = l
	}
	demoted := clusterLinks(c, local)
	res := ix.resultNodes(c, local, ns, seeded)
	res.Stats.Demoted = demoted
	return res
}

// concatPostings iterates two posting runs as one (the delta is usually
// empty, so the common case does not copy).
func concatPostings(a, b []posting) []posting {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	return append(slices.Clip(a), b...)
}

// Add matches batch like Match, then adds it to the index so that later
// batches are matched against it too (incremental runs accumulate): a batch
// record whose ID is indexed replaces that record, the batch's values count
// in the frequencies, and the result's automatic clusters become the
// index's. Weights stay those of the full run; the frequencies of records
// indexed earlier are not recomputed. Add must not run concurrently with
// Match, Explain or another Add.
func (ix *Index) Add(batch []Record) (*Result, error) {
	res, ns, err := ix.match(batch)
	if err != nil {
		return nil, err
	}
	ix.absorb(ns, res)
	return res, nil
}

func (ix *Index) absorb(ns *nodeSet, res *Result) {
	n0 := int32(len(ix.ps))
	for k := range ns.batch {
		if p, ok := ix.pos[ns.batch[k].ID]; ok {
			ix.retire(p)
		}
		ix.pos[ns.batch[k].ID] = n0 + int32(k)
	}
	ix.more = append(ix.more, ns.batch...)
	ix.ps = append(ix.ps, ns.bps...)
	for k := range ns.bps {
		ix.fr.add(&ns.bps[k])
	}
	for k := range ns.bps {
		ix.st = append(ix.st, ix.fr.stat(&ns.bps[k]))
		ix.cluster = append(ix.cluster, -1)
	}
	if ix.dead != nil {
		ix.dead = append(ix.dead, make([]bool, len(ns.bps))...)
	}
	ix.setPrior()
	ix.bi.add(ix.ps, n0, ix.opt)
	ix.adoptClusters(res.Clusters)
}

// retire takes a replaced record out of matching and of the frequencies.
func (ix *Index) retire(p int32) {
	if ix.dead == nil {
		ix.dead = make([]bool, len(ix.ps))
	}
	if ix.dead[p] {
		return
	}
	ix.dead[p] = true
	ix.ndead++
	ix.fr.remove(&ix.ps[p])
	ix.cluster[p] = -1
}

// String describes the index.
func (ix *Index) String() string {
	return fmt.Sprintf("dedup index: %d records, %d postings, %d clusters", len(ix.ps), len(ix.bi.post), len(ix.members))
}
