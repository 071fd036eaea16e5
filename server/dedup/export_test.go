package dedup

import "fmt"

// BoundCheck counts what CheckBound saw.
type BoundCheck struct {
	Pairs    int // candidate pairs checked
	Tagged   int // turned away by their tags
	Bounded  int // turned away by the bound on their pending fields
	Upgraded int // pending fields the costly comparison raised
	Linked   int
	Mismatch error
}

// CheckBound runs recs in full and checks, for every pair sharing a block,
// that the cheap route of scorePair decides as the full comparison does:
// compareCheap's settled levels are final and its pending ones end at
// their level or their upgrade; a pair its tags turn away is implausible;
// the bound is at least the pair's total; and scorePair links exactly the
// pairs the full comparison links, with the same levels, total and
// decision.
func CheckBound(recs []Record, opt Options) (BoundCheck, error) {
	_, ix, err := Run(recs, opt)
	if err != nil {
		return BoundCheck{}, err
	}
	var c BoundCheck
	floor := min(opt.ReviewBits, opt.AutoBits)
	ix.bi.eachBlock(func(lo, hi int) {
		for x := lo; x < hi && c.Mismatch == nil; x++ {
			for y := x + 1; y < hi && c.Mismatch == nil; y++ {
				c.check(ix, ix.bi.post[x], ix.bi.post[y], floor)
			}
		}
	})
	return c, nil
}

func (c *BoundCheck) check(ix *Index, qa, qb posting, floor float64) {
	a, b := &ix.ps[qa.rec], &ix.ps[qb.rec]
	sa, sb := ix.st[qa.rec], ix.st[qb.rec]
	fail := func(format string, args ...any) {
		c.Mismatch = fmt.Errorf("records %d and %d: "+format, append([]any{qa.rec, qb.rec}, args...)...)
	}
	c.Pairs++
	lv := compare(a, b, ix.opt.IDChecksum)
	total := ix.total(lv, sa, sb)
	post := total + ix.prior
	links := plausible(lv) && post >= floor
	if implausible(qa.tag, qb.tag) {
		c.Tagged++
		if plausible(lv) {
			fail("tags %x and %x turn away a plausible pair %v", qa.tag, qb.tag, lv)
		}
	}
	cheap, p := compareCheap(a, b, ix.opt.IDChecksum)
	for f := Field(0); f < numFields; f++ {
		switch {
		case !p.has(f) && cheap[f] != lv[f]:
			fail("%s settled at %s, compare says %s", f, cheap[f], lv[f])
		case p.has(f) && lv[f] != cheap[f] && lv[f] != upgrade[f]:
			fail("%s pending at %s, compare says %s", f, cheap[f], lv[f])
		case p.has(f) && lv[f] == upgrade[f]:
			c.Upgraded++
		}
	}
	if plausible(lv) && p != 0 {
		if best := ix.best(cheap, p, sa, sb); best < total {
			fail("bound %.3f below the total %.3f of %v", best, total, lv)
		} else if best+ix.prior < floor {
			c.Bounded++
		}
	}
	l, ok := ix.scorePair(a, b, sa, sb)
	switch {
	case ok != links:
		fail("scorePair links %v, the full comparison %v (%v, posterior %.3f)", ok, links, lv, post)
	case ok && (l.lv != lv || l.total != total):
		fail("scorePair levels %v total %.3f, the full comparison %v %.3f", l.lv, l.total, lv, total)
	case ok && (l.dec == Auto) != (post >= ix.opt.AutoBits && corroborated(lv)):
		fail("scorePair decides %s at posterior %.3f", l.dec, post)
	case ok:
		c.Linked++
	}
}
