package dedup

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// FieldEvidence is how one field of a pair compared and what it weighed.
type FieldEvidence struct {
	Field  string  `json:"field"`
	Level  string  `json:"level"`
	Weight float64 `json:"weight"` // log2(m/u); 0 when missing
}

// Evidence explains a link.
type Evidence struct {
	Fields []FieldEvidence `json:"fields"`
	// Total is the sum of field weights (log2 likelihood ratio).
	Total float64 `json:"total"`
	// Posterior adds the prior log2-odds log2(DupRate/N), with the rate
	// the weights estimated (Weights.DupRate).
	Posterior float64 `json:"posterior"`
	// Coincidences is the expected number of records in the data sharing
	// this name and birth date by chance (count(name)*count(date)/N).
	Coincidences float64 `json:"coincidences"`
}

// Link is a scored pair of records.
type Link struct {
	A        string   `json:"a"`
	B        string   `json:"b"`
	Decision Decision `json:"decision"`
	Evidence Evidence `json:"evidence"`
}

// Cluster is a proposed duplicate case: an auto cluster, or a review pair.
type Cluster struct {
	Records  []string // record IDs, sorted
	Decision Decision
	Score    float64 // weakest posterior among the links that made it
	Keep     string  // suggested record to keep
	Links    []Link
}

// Stats describes a run.
type Stats struct {
	Records           int
	Postings          int // (key, record) pairs
	SplitBlocks       int // blocks larger than SplitBlock, compared by their sub-blocks
	OversizedBlocks   int // sub-blocks skipped because larger than MaxBlock
	OversizedPostings int // postings in those sub-blocks
	Comparisons       int // candidate pairs scored
	AutoLinks         int
	ReviewLinks       int
	Demoted           int // auto links refused by the cluster guard
	Elapsed           time.Duration
	Weights           *Weights
}

// Result is the output of a full or incremental run.
type Result struct {
	Clusters []Cluster
	Stats    Stats
}

// Index is the state kept from a full run for incremental matching.
type Index struct {
	opt     Options
	recs    []Record // the full run's records (the caller's slice)
	more    []Record // records added since (Add), copied
	dead    []bool   // per record: replaced by a later Add (nil if none)
	ndead   int
	ps      []prep
	st      []recStat
	fr      *freqs
	bi      *blockIndex
	w       *Weights
	pos     map[string]int32
	cluster []int32   // cluster number per record, -1 if none
	members [][]int32 // members of each cluster
	prior   float64
}

// Run deduplicates recs in full and returns the result and an index for
// incremental matching. recs must not be modified while the index is used.
func Run(recs []Record, opt Options) (*Result, *Index, error) {
	start := time.Now()
	ix, err := newIndex(recs, opt)
	if err != nil {
		return nil, nil, err
	}
	ix.w = estimate(ix.ps, ix.st, ix.bi, opt)
	ix.setPrior()
	links, compared := ix.scoreAll()
	ix.bi.recStart, ix.bi.recBlock = nil, nil // only the full run walks blocks per record
	c := newClusterer(len(recs), opt.MaxCluster)
	ix.seedValidIDs(c, len(recs))
	demoted := clusterLinks(c, links)
	res := ix.result(c, links, nil, len(recs))
	ix.keepClusters(res)
	res.Stats.Demoted = demoted
	res.Stats.Comparisons = compared
	res.Stats.Elapsed = time.Since(start)
	return res, ix, nil
}

// newIndex prepares, counts and blocks recs: an index without weights or
// clusters yet.
func newIndex(recs []Record, opt Options) (*Index, error) {
	pos, err := positions(recs)
	if err != nil {
		return nil, err
	}
	ix := &Index{opt: opt, recs: recs, pos: pos}
	ix.ps = prepareAll(recs, opt)
	ix.fr = countFreqsParallel(ix.ps)
	ix.st = make([]recStat, len(ix.ps), withRoom(len(ix.ps)))
	parallelRange(len(ix.ps), opt.Workers, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ix.st[i] = ix.fr.stat(&ix.ps[i])
		}
	})
	ix.bi = buildBlocks(ix.ps, opt)
	return ix, nil
}

func positions(recs []Record) (map[string]int32, error) {
	pos := make(map[string]int32, len(recs))
	for i := range recs {
		id := recs[i].ID
		if id == "" {
			return nil, fmt.Errorf("record %d: %w", i, ErrEmptyRecordID)
		}
		if _, dup := pos[id]; dup {
			return nil, fmt.Errorf("%w: %q", ErrDuplicateRecordID, id)
		}
		pos[id] = int32(i)
	}
	return pos, nil
}

func (ix *Index) seedValidIDs(c *clusterer, n int) {
	for i := 0; i < n; i++ {
		if ix.ps[i].idValid {
			c.vid[i] = ix.ps[i].id
		}
	}
}

// scoreAll scores every candidate pair of the full run in parallel.
func (ix *Index) scoreAll() ([]pairLink, int) {
	n := len(ix.ps)
	var mu sync.Mutex
	var all []pairLink
	compared := 0
	// stamps[w][j] == i marks j as already compared with i (one slice per
	// worker instead of clearing a map for each record).
	workers := max(1, ix.opt.Workers)
	stamps := make([][]int32, workers)
	for w := range stamps {
		stamps[w] = make([]int32, n)
		for j := range stamps[w] {
			stamps[w][j] = -1
		}
	}
	parallelRangeW(n, workers, func(w, lo, hi int) {
		var out []pairLink
		cnt := 0
		for i := lo; i < hi; i++ {
			out, cnt = ix.scoreRecord(int32(i), stamps[w], out, cnt)
		}
		mu.Lock()
		all = append(all, out...)
		compared += cnt
		mu.Unlock()
	})
	return all, compared
}

// scoreRecord scores record i against every later record sharing a block.
func (ix *Index) scoreRecord(i int32, seen []int32, out []pairLink, cnt int) ([]pairLink, int) {
	bi := ix.bi
	t := tagOf(&ix.ps[i])
	for _, x := range bi.recBlock[bi.recStart[i]:bi.recStart[i+1]] {
		for _, q := range bi.later(x) {
			j := q.rec
			if seen[j] == i {
				continue
			}
			seen[j] = i
			cnt++
			if implausible(t, q.tag) {
				continue
			}
			if l, ok := ix.scorePair(&ix.ps[i], &ix.ps[j], ix.st[i], ix.st[j]); ok {
				l.a, l.b = i, j
				out = append(out, l)
			}
		}
	}
	return out, cnt
}

// scorePair compares two records and decides; ok is false below review.
// The comparisons that take no string metric come first; the costly ones
// (Jaro–Winkler on names and addresses, ID repairs) are made only when
// their best outcome could still lift the pair to a link. Field weights
// add up, so the best total over the pending fields' possible levels is an
// upper bound: a pair skipped below it is one the full comparison would
// not link either.
func (ix *Index) scorePair(a, b *prep, sa, sb recStat) (pairLink, bool) {
	lv, p := compareCheap(a, b, ix.opt.IDChecksum)
	if p != 0 && ix.best(lv, p, sa, sb)+ix.prior < min(ix.opt.ReviewBits, ix.opt.AutoBits) {
		return pairLink{}, false
	}
	settle(&lv, p, a, b)
	if !plausible(lv) {
		return pairLink{}, false
	}
	total := ix.total(lv, sa, sb)
	post := total + ix.prior
	switch {
	case post >= ix.opt.AutoBits && corroborated(lv):
		return pairLink{score: post, total: total, lv: lv, dec: Auto}, true
	case post >= ix.opt.ReviewBits:
		return pairLink{score: post, total: total, lv: lv, dec: Review}, true
	}
	return pairLink{}, false
}

// total is the sum of the field weights of a pair at levels lv.
func (ix *Index) total(lv levels, sa, sb recStat) float64 {
	total := 0.0
	n := float64(ix.fr.n)
	for f := Field(0); f < numFields; f++ {
		total += ix.w.fieldWeight(f, lv, sa, sb, n)
	}
	return total
}

// best is the highest total of a pair whose pending fields may each stay
// at lv's level or rise to their upgrade (each subset of them tried: the
// weight of one field depends on the levels of others).
func (ix *Index) best(lv levels, p pending, sa, sb recStat) float64 {
	best := math.Inf(-1)
	for sub := p; ; sub = (sub - 1) & p {
		l := lv
		for f := Field(0); f < numFields; f++ {
			if sub.has(f) {
				l[f] = upgrade[f]
			}
		}
		best = max(best, ix.total(l, sa, sb))
		if sub == 0 {
			return best
		}
	}
}

// tag packs into 32 bits what makes most candidate pairs implausible: the
// gender (the low two bits) and a hash of a valid ID number (the rest; 0
// when the ID is blank or fails its checksum). Postings carry it, so that
// such a pair is turned away without reading the other record: at a
// million records most candidates share a birth date and a surname and
// hold two different valid ID numbers.
type tag uint32

func tagOf(p *prep) tag {
	var t tag
	if p.idValid {
		t = tag(hashKey(0, p.id))&^3 | 4 // never 0 above the gender bits
	}
	switch p.gender {
	case 'M':
		t |= 1
	case 'F':
		t |= 2
	}
	return t
}

// implausible reports pairs plausible turns away, by their tags: different
// valid ID numbers, or different genders under ID numbers that differ
// (one valid and one not cannot be equal). Equal ID hashes, or neither ID
// valid, leave it to the records.
func implausible(a, b tag) bool {
	if a>>2 == b>>2 {
		return false
	}
	return a>>2 != 0 && b>>2 != 0 || a&3 != 0 && b&3 != 0 && a&3 != b&3
}

// plausible reports whether a pair may be one person at all. Two different
// valid ID numbers never are; nor, short of the same ID number, are two
// records of different genders, or records whose names disagree and whose
// only other tie is a repaired ID number (a mistyped number has many
// repairs, and one of them may be a stranger's born the same day).
func plausible(lv levels) bool {
	switch {
	case lv[FieldID] == LevelConflict:
		return false
	case lv[FieldID] == LevelExact:
		return true
	case lv[FieldGender] == LevelDisagree:
		return false
	}
	return !(lv[FieldName] == LevelDisagree && lv[FieldID] == LevelRepaired &&
		lv[FieldPhone] < LevelClose && lv[FieldAddress] < LevelClose)
}

// corroborated reports whether a pair agrees on more than who the person
// is said to be: the ID number (exact, repaired or one edit apart), the
// phone, or an address under exactly the same name. Name and birth date
// alone never make an automatic link, however rare the name: strangers
// share them (the Crosscheck lesson), so such a pair is at most a review
// case. A shared address corroborates only an identical name: twins and
// relatives share the address, and their names may sound alike (陆梅, 陆玫).
//
// Nor is a pair automatic when the two could be twins or siblings: born the
// same day at the same address under names that are not identical, with no
// ID number to tell them apart.
func corroborated(lv levels) bool {
	idAgrees := lv[FieldID] >= LevelRepaired
	if !idAgrees && lv[FieldName] != LevelExact && lv[FieldBirth] == LevelExact && lv[FieldAddress] == LevelExact {
		return false
	}
	return lv[FieldID] >= LevelClose || lv[FieldPhone] >= LevelClose ||
		lv[FieldAddress] == LevelExact && lv[FieldName] == LevelExact
}

// node identifies a record in a run: index records first, then the batch.
type nodeSet struct {
	ix    *Index
	batch []Record
	bps   []prep
	bst   []recStat
	glob  []int32 // clusterer slot -> global node (incremental only)
}

func (ns *nodeSet) rec(node int32) (*Record, *prep) {
	if ns.glob != nil {
		node = ns.glob[node]
	}
	n := int32(len(ns.ix.ps))
	if node < n {
		return ns.ix.record(node), &ns.ix.ps[node]
	}
	return &ns.batch[node-n], &ns.bps[node-n]
}

func (ns *nodeSet) stat(node int32) recStat {
	if ns.glob != nil {
		node = ns.glob[node]
	}
	if n := int32(len(ns.ix.ps)); node >= n {
		return ns.bst[node-n]
	}
	return ns.ix.st[node]
}

// result turns clustered links into clusters. nodes lists extra nodes that
// may belong to clusters (nil: all link endpoints suffice).
func (ix *Index) result(c *clusterer, links []pairLink, ns *nodeSet, n int) *Result {
	if ns == nil {
		ns = &nodeSet{ix: ix}
	}
	res := ix.resultNodes(c, links, ns, nil)
	res.Stats.Records = n
	return res
}

// resultNodes builds clusters from links; extra lists nodes that belong to
// clusters without a link of their own (seeded from a previous run).
func (ix *Index) resultNodes(c *clusterer, links []pairLink, ns *nodeSet, extra []int32) *Result {
	nodes := append([]int32(nil), extra...)
	for _, l := range links {
		nodes = append(nodes, l.a, l.b)
	}
	n := 0
	members, inside, review := groups(c, links, nodes)
	res := &Result{Stats: Stats{Records: n, Postings: len(ix.bi.post), SplitBlocks: ix.bi.split,
		OversizedBlocks: ix.bi.oversized, OversizedPostings: ix.bi.overRecs, Weights: ix.w}}
	for _, l := range links {
		if l.dec == Auto {
			res.Stats.AutoLinks++
		} else {
			res.Stats.ReviewLinks++
		}
	}
	roots := make([]int32, 0, len(members))
	for r := range members {
		roots = append(roots, r)
	}
	slices.Sort(roots)
	for _, r := range roots {
		res.Clusters = append(res.Clusters, ns.cluster(members[r], inside[r], Auto))
	}
	for _, l := range review {
		res.Clusters = append(res.Clusters, ns.cluster(reviewMembers(c, members, l), []pairLink{l}, Review))
	}
	return res
}

func (ns *nodeSet) cluster(nodes []int32, links []pairLink, dec Decision) Cluster {
	cl := Cluster{Decision: dec, Score: math.Inf(1)}
	for _, x := range nodes {
		r, _ := ns.rec(x)
		cl.Records = append(cl.Records, r.ID)
	}
	sort.Strings(cl.Records)
	cl.Keep = ns.keep(nodes)
	for _, l := range links {
		if dec == Auto && l.dec != Auto {
			continue
		}
		cl.Score = math.Min(cl.Score, l.score)
		cl.Links = append(cl.Links, ns.link(l))
	}
	if math.IsInf(cl.Score, 1) {
		cl.Score = 0
	}
	return cl
}

// keep suggests the record to keep: one with a valid ID, then the most
// complete, then the smallest ID.
func (ns *nodeSet) keep(nodes []int32) string {
	best, bestScore := "", -1
	for _, x := range nodes {
		r, p := ns.rec(x)
		s := completeness(r)
		if p.idValid {
			s += 100
		}
		if s > bestScore || (s == bestScore && r.ID < best) {
			best, bestScore = r.ID, s
		}
	}
	return best
}

func completeness(r *Record) int {
	n := 0
	for _, v := range []string{r.Name, r.Gender, r.BirthDate, r.IDNumber, r.HouseholdAddress, r.ResidenceAddress, r.Phone} {
		if strings.TrimSpace(v) != "" {
			n++
		}
	}
	return n
}

func (ns *nodeSet) link(l pairLink) Link {
	ra, pa := ns.rec(l.a)
	rb, _ := ns.rec(l.b)
	sa, sb := ns.stat(l.a), ns.stat(l.b)
	n := float64(ns.ix.fr.n)
	ev := Evidence{Total: l.total, Posterior: l.score, Coincidences: coincidences(sa, n)}
	if pa.name == "" || pa.birth == 0 {
		ev.Coincidences = 0
	}
	for f := Field(0); f < numFields; f++ {
		ev.Fields = append(ev.Fields, FieldEvidence{Field: f.String(), Level: l.lv[f].String(),
			Weight: ns.ix.w.fieldWeight(f, l.lv, sa, sb, n)})
	}
	return Link{A: ra.ID, B: rb.ID, Decision: l.dec, Evidence: ev}
}

// keepClusters records the full run's auto clusters for incremental runs.
func (ix *Index) keepClusters(res *Result) {
	ix.cluster = make([]int32, len(ix.ps), withRoom(len(ix.ps)))
	for i := range ix.cluster {
		ix.cluster[i] = -1
	}
	ix.adoptClusters(res.Clusters)
}

// adoptClusters records auto clusters as the index's.
func (ix *Index) adoptClusters(clusters []Cluster) {
	for _, cl := range clusters {
		if cl.Decision == Auto {
			ix.adoptCluster(cl.Records)
		}
	}
}

// Weights returns the weights estimated by the full run.
func (ix *Index) Weights() *Weights { return ix.w }

// setPrior sets the prior log2-odds that two indexed records are one
// person: the duplicates a record has on average (as the weights estimated
// it, or Options.DupRate) among the others.
func (ix *Index) setPrior() {
	rate := ix.opt.DupRate
	if ix.w != nil && ix.w.DupRate > 0 {
		rate = ix.w.DupRate
	}
	ix.prior = math.Log2(rate / math.Max(1, float64(ix.Len())))
}

// Len returns the number of indexed records (replaced ones not counted).
func (ix *Index) Len() int { return len(ix.ps) - ix.ndead }

// record returns the indexed record at position i.
func (ix *Index) record(i int32) *Record {
	if int(i) < len(ix.recs) {
		return &ix.recs[i]
	}
	return &ix.more[int(i)-len(ix.recs)]
}

// isDead reports a record replaced by a later Add.
func (ix *Index) isDead(i int32) bool { return ix.dead != nil && ix.dead[i] }

// Explain scores two records with the index's weights and frequencies, so
// a coordinator can see why a pair was or was not proposed. Decision is ""
// when the pair is below review or has two different valid IDs.
func (ix *Index) Explain(a, b Record) Link {
	pa, pb := prepare(&a, ix.opt.IDChecksum), prepare(&b, ix.opt.IDChecksum)
	sa, sb := ix.fr.stat(&pa), ix.fr.stat(&pb)
	lv := compare(&pa, &pb, ix.opt.IDChecksum)
	l, ok := ix.scorePair(&pa, &pb, sa, sb)
	if !ok {
		l = pairLink{lv: lv, dec: "", total: ix.total(lv, sa, sb)}
		l.score = l.total + ix.prior
	}
	ns := &nodeSet{ix: ix, batch: []Record{a, b}, bps: []prep{pa, pb}, bst: []recStat{sa, sb}}
	n := int32(len(ix.ps))
	l.a, l.b = n, n+1
	return ns.link(l)
}

// reviewMembers is the union of the two clusters a review link joins.
func reviewMembers(c *clusterer, members map[int32][]int32, l pairLink) []int32 {
	var out []int32
	for _, x := range [2]int32{l.a, l.b} {
		if m, ok := members[c.find(x)]; ok {
			out = append(out, m...)
		} else {
			out = append(out, x)
		}
	}
	return out
}
