package dedup

import (
	"math"
	"math/rand/v2"
)

// Weights are the Fellegi–Sunter parameters, estimated from the data:
// M[f][l] = P(level l | same person), U[f][l] = P(level l | different
// people), both among pairs where field f is present on both sides.
// CondU is U for gender, phone and address among pairs whose name and
// birth date already agree (twins and relatives share an address).
type Weights struct {
	M, U, CondU [numFields][numLevels]float64
	// HouseU is U for the address among pairs of different people (two
	// valid IDs) who share a phone: a household's phone and address are
	// one piece of evidence, not two.
	HouseU [numLevels]float64
	// SibU is U for name, gender, phone and address among pairs of
	// different people (two valid IDs) born the same day with the same
	// surname whose names do not agree: twins share the address and often
	// the phone and a generation character of the given name, so once the
	// birth date agrees these fields are weaker evidence than at random.
	SibU [numFields][numLevels]float64
	// Training sizes: pairs sharing a valid ID (positives), rare
	// name+birth pairs used for the ID field (anchors), same name and birth
	// with different valid IDs (negatives), random pairs.
	Positives, Anchors, Negatives, Random int
	Siblings                              int
	// DupRate is the number of duplicates a record has on average, as the
	// valid ID numbers tell it: pairs sharing one, scaled to every record
	// (0 where too few records hold one, or IDs are not checked; the run
	// then takes Options.DupRate).
	DupRate float64
}

// conflictWeight is the weight shown for two different valid IDs; such a
// pair is never linked whatever its total.
const conflictWeight = -40

// priorM is the m-distribution assumed before seeing data; estimates are
// shrunk towards it with priorStrength pseudo-pairs.
var priorM = [numFields][numLevels]float64{
	FieldName:    {LevelExact: .85, LevelPinyin: .05, LevelClose: .06, LevelDisagree: .04},
	FieldBirth:   {LevelExact: .88, LevelLunar: .04, LevelClose: .05, LevelDisagree: .03},
	FieldID:      {LevelExact: .80, LevelRepaired: .08, LevelClose: .04, LevelDisagree: .08, LevelConflict: .001},
	FieldGender:  {LevelExact: .98, LevelDisagree: .02},
	FieldPhone:   {LevelExact: .50, LevelClose: .05, LevelDisagree: .45},
	FieldAddress: {LevelExact: .50, LevelClose: .15, LevelDisagree: .35},
	FieldCounty:  {LevelExact: .60, LevelClose: .30, LevelDisagree: .10},
}

const priorStrength = 20

// counts accumulates level counts per field.
type counts [numFields][numLevels]float64

func (c *counts) add(l levels) {
	for f, lv := range l {
		if Field(f) != FieldCounty || countyCounts(&l) {
			c[f][lv]++
		}
	}
}

// distribution turns counts into probabilities over present levels,
// shrunk towards prior with strength alpha, never below floor.
func distribution(c [numLevels]float64, prior [numLevels]float64, alpha, floor float64) [numLevels]float64 {
	var out [numLevels]float64
	n := 0.0
	for l := LevelConflict; l < numLevels; l++ {
		n += c[l]
	}
	for l := LevelConflict; l < numLevels; l++ {
		if n+alpha == 0 { // nothing observed and no prior: not 0/0 = NaN
			out[l] = floor
			continue
		}
		out[l] = math.Max((c[l]+alpha*prior[l])/(n+alpha), floor)
	}
	return out
}

// trainer collects training pairs during estimation.
type trainer struct {
	pos, anchor, neg, random, sib counts
	house                         [numLevels]float64
	nPos, nAnchor, nNeg           int
	nHouse, nSib                  int
	// validIDs counts the records with a valid ID number, sharedIDs the
	// pairs of them that share one (every pair, not a sample).
	validIDs, sharedIDs int
}

// estimate computes Weights from the prepared records and their blocks.
func estimate(ps []prep, st []recStat, bi *blockIndex, opt Options) *Weights {
	var tr trainer
	if opt.IDChecksum {
		for i := range ps {
			if ps[i].idValid {
				tr.validIDs++
			}
		}
	}
	tr.sampleRandom(ps, opt)
	tr.sampleBlocks(ps, st, bi, opt)
	w := tr.weights(opt)
	w.DupRate = tr.dupRate(len(ps))
	return w
}

func (tr *trainer) sampleRandom(ps []prep, opt Options) {
	if len(ps) < 2 {
		return
	}
	rng := rand.New(rand.NewPCG(uint64(opt.Seed), 0x9e3779b97f4a7c15))
	pairs := make([][2]int32, 0, opt.Samples)
	for k := 0; k < opt.Samples; k++ {
		i, j := rng.IntN(len(ps)), rng.IntN(len(ps))
		if i != j {
			pairs = append(pairs, [2]int32{int32(i), int32(j)})
		}
	}
	// The pairs are drawn in order and compared on every core; counts add
	// up to the same whatever the order.
	workers := max(1, opt.Workers)
	part := make([]counts, workers)
	parallelRangeW(len(pairs), workers, func(w, lo, hi int) {
		for _, p := range pairs[lo:hi] {
			part[w].add(compare(&ps[p[0]], &ps[p[1]], opt.IDChecksum))
		}
	})
	for w := range part {
		for f := range part[w] {
			for l := range part[w][f] {
				tr.random[f][l] += part[w][f][l]
			}
		}
	}
}

// sampleBlocks walks the ID blocks for positives and the name+year blocks
// for anchors and negatives.
func (tr *trainer) sampleBlocks(ps []prep, st []recStat, bi *blockIndex, opt Options) {
	n := float64(len(ps))
	bi.eachBlock(func(lo, hi int) {
		kind := keyKind(bi.post[lo].h)
		if kind == keyID && opt.IDChecksum {
			tr.sharedIDs += sharedIDs(ps, bi.post[lo:hi])
		}
		if tr.full(kind, opt.Samples) {
			return
		}
		for x := lo; x < hi; x++ {
			for y := x + 1; y < hi; y++ {
				a, b := bi.post[x].rec, bi.post[y].rec
				tr.observe(kind, &ps[a], &ps[b], st[a], n, opt)
			}
		}
	})
}

// sharedIDs counts the pairs of a block's records that hold the same valid
// ID number.
func sharedIDs(ps []prep, block []posting) int {
	n := 0
	for x := range block {
		a := &ps[block[x].rec]
		if !a.idValid {
			continue
		}
		for y := x + 1; y < len(block); y++ {
			if b := &ps[block[y].rec]; b.idValid && a.id == b.id {
				n++
			}
		}
	}
	return n
}

// minValidIDs is the fewest records with a valid ID number from which the
// duplicate rate is estimated rather than taken from Options.
const minValidIDs = 1000

// dupRate estimates the duplicates per record from the valid ID numbers: a
// record holding one has 2·shared/valid duplicates that hold one too, and
// as many more, in proportion, that do not (n/valid of them in all).
func (tr *trainer) dupRate(n int) float64 {
	if tr.validIDs < minValidIDs || tr.sharedIDs == 0 {
		return 0
	}
	v := float64(tr.validIDs)
	return min(1, 2*float64(tr.sharedIDs)*float64(n)/(v*v))
}

// full reports whether the blocks of a kind have nothing more to give: it
// is not sampled, or its samples are all taken.
func (tr *trainer) full(kind byte, samples int) bool {
	switch kind {
	case keyID:
		return tr.nPos >= samples
	case keyPhone:
		return tr.nHouse >= samples
	case keyBirthSur:
		return tr.nSib >= samples
	case keyNameYear:
		return tr.nNeg >= samples && tr.nAnchor >= samples
	}
	return true
}

func (tr *trainer) observe(kind byte, a, b *prep, sa recStat, n float64, opt Options) {
	if kind == keyID {
		if tr.nPos < opt.Samples && a.id == b.id && (!opt.IDChecksum || a.idValid) {
			tr.pos.add(compare(a, b, opt.IDChecksum))
			tr.nPos++
		}
		return
	}
	if kind == keyPhone {
		if tr.nHouse < opt.Samples && a.idValid && b.idValid && a.id != b.id {
			tr.house[addressLevel(a, b)]++
			tr.nHouse++
		}
		return
	}
	if kind == keyBirthSur {
		if tr.nSib < opt.Samples && a.idValid && b.idValid && a.id != b.id && a.birth == b.birth && a.surPy == b.surPy {
			if l := compare(a, b, opt.IDChecksum); !nameAgrees(l[FieldName]) {
				tr.sib.add(l)
				tr.nSib++
			}
		}
		return
	}
	if a.name != b.name || a.birth != b.birth || a.birth == 0 {
		return
	}
	l := compare(a, b, opt.IDChecksum)
	switch {
	case l[FieldID] == LevelConflict && tr.nNeg < opt.Samples:
		tr.neg.add(l)
		tr.nNeg++
	case l[FieldGender] != LevelDisagree && coincidences(sa, n) < 0.01 && tr.nAnchor < opt.Samples:
		tr.anchor.add(l)
		tr.nAnchor++
	}
}

func (tr *trainer) weights(opt Options) *Weights {
	w := &Weights{Positives: tr.nPos, Anchors: tr.nAnchor, Negatives: tr.nNeg, Random: opt.Samples, Siblings: tr.nSib}
	floor := 0.5 / float64(max(1, opt.Samples))
	for f := Field(0); f < numFields; f++ {
		src := tr.pos[f]
		if f == FieldID {
			src = tr.anchor[f]
		}
		w.M[f] = distribution(src, priorM[f], priorStrength, 1e-4)
		w.U[f] = distribution(tr.random[f], [numLevels]float64{}, 0, floor)
		w.CondU[f] = distribution(tr.neg[f], w.U[f], priorStrength, floor)
		w.SibU[f] = distribution(tr.sib[f], w.U[f], priorStrength, floor)
	}
	w.HouseU = distribution(tr.house, w.U[FieldAddress], priorStrength, floor)
	return w
}

// coincidences is the expected number of other records with the same name
// and birth date by chance: count(name) * count(birth date) / N.
func coincidences(s recStat, n float64) float64 {
	return float64(s.name) * float64(s.birth) / math.Max(n, 1)
}

// recStat holds the data frequencies of a record's values (including itself).
type recStat struct {
	name, py, birth int32
}

// freqs counts names, pinyin and birth dates over the data.
type freqs struct {
	name  map[string]int32
	py    map[string]int32
	birth map[int32]int32
	n     int
}

func countFreqs(ps []prep) *freqs {
	fr := &freqs{name: make(map[string]int32), py: make(map[string]int32), birth: make(map[int32]int32)}
	for i := range ps {
		fr.add(&ps[i])
	}
	return fr
}

// countFreqsParallel is countFreqs for a full run: the names are counted
// on one goroutine, the pinyin and the dates on another, and the maps are
// made for a quarter of the records as distinct values, so that they do
// not grow by rehashing one entry at a time.
func countFreqsParallel(ps []prep) *freqs {
	fr := &freqs{name: make(map[string]int32, len(ps)/4), py: make(map[string]int32, len(ps)/4),
		birth: make(map[int32]int32, min(len(ps), 1<<15)), n: len(ps)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range ps {
			if p := &ps[i]; p.name != "" {
				fr.name[p.name]++
			}
		}
	}()
	for i := range ps {
		p := &ps[i]
		if p.py != "" {
			fr.py[p.py]++
		}
		if p.birth != 0 {
			fr.birth[p.birth]++
		}
	}
	<-done
	return fr
}

func (fr *freqs) add(p *prep) {
	fr.n++
	if p.name != "" {
		fr.name[p.name]++
	}
	if p.py != "" {
		fr.py[p.py]++
	}
	if p.birth != 0 {
		fr.birth[p.birth]++
	}
}

// remove undoes add.
func (fr *freqs) remove(p *prep) {
	fr.n--
	if p.name != "" {
		fr.name[p.name]--
	}
	if p.py != "" {
		fr.py[p.py]--
	}
	if p.birth != 0 {
		fr.birth[p.birth]--
	}
}

func (fr *freqs) stat(p *prep) recStat {
	return recStat{name: max(1, fr.name[p.name]), py: max(1, fr.py[p.py]), birth: max(1, fr.birth[p.birth])}
}

// fieldWeight returns log2(m/u) for one field, with term-frequency u for
// exact and homophone names and exact birth dates, and the conditional u
// when name and birth already agree.
func (w *Weights) fieldWeight(f Field, l levels, sa, sb recStat, n float64) float64 {
	lv := l[f]
	switch {
	case lv == LevelMissing, f == FieldCounty && !countyCounts(&l):
		return 0
	case w.M[f][lv] == 0: // weights estimated before the field was compared
		return 0
	case lv == LevelConflict:
		return conflictWeight
	}
	u := w.U[f][lv]
	switch {
	case f == FieldName && lv == LevelExact:
		u = float64(max(sa.name, sb.name)) / n
	case f == FieldName && lv == LevelPinyin:
		u = float64(max(sa.py, sb.py)) / n
	case f == FieldBirth && lv == LevelExact:
		u = float64(max(sa.birth, sb.birth)) / n
	case (f == FieldGender || f == FieldPhone || f == FieldAddress || f == FieldCounty) && nameBirthAgree(l):
		u = math.Max(u, w.CondU[f][lv])
	case f != FieldBirth && f != FieldID && birthOnly(l):
		u = math.Max(u, w.SibU[f][lv])
	}
	if f == FieldAddress && l[FieldPhone] == LevelExact {
		u = math.Max(u, w.HouseU[lv])
	}
	return math.Log2(w.M[f][lv] / u)
}

func nameAgrees(nm Level) bool { return nm == LevelExact || nm == LevelPinyin }

// birthOnly reports a birth date that agrees with names that do not, and
// IDs that do not agree either (twins never share an ID).
func birthOnly(l levels) bool {
	bd, id := l[FieldBirth], l[FieldID]
	return (bd == LevelExact || bd == LevelLunar) && !nameAgrees(l[FieldName]) && l[FieldName] != LevelMissing &&
		id != LevelExact && id != LevelRepaired
}

func nameBirthAgree(l levels) bool {
	nm, bd := l[FieldName], l[FieldBirth]
	return (nm == LevelExact || nm == LevelPinyin) && (bd == LevelExact || bd == LevelLunar)
}
