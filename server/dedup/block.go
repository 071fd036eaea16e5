package dedup

import (
	"cmp"
	"math/bits"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
)

// Blocking keys are 64-bit hashes with the key kind in the top byte, so
// that all keys of one kind sort together. A hash collision only costs a
// comparison: scoring reads the fields themselves.
const (
	keyID        = 'i' // normalized ID, and each checksum repair of it
	keyIDPrefix  = 'p' // ID region + birth date (first 14)
	keyNameYear  = 'n' // name pinyin + birth year
	keyBirthSur  = 'b' // birth date + surname pinyin
	keyBirthGiv  = 'g' // birth date + given-name pinyin
	keyPhone     = 'f' // phone
	keyNameAddr  = 'a' // name pinyin + address prefix (household or residence)
	keySplit     = 's' // a key whose block is too large + a further field (splitKeys)
	addrPrefix   = 6   // runes of address used in keyNameAddr
	splitPrefix  = 12  // runes of address used to split a block (the town, in most addresses)
	hashSeed     = 0x9e3779b97f4a7c15
	hashMul      = 0x517cc1b727220a95
	keyKindShift = 56
)

// kinds lists the key kinds in the order their keys sort.
var kinds = [...]byte{keyNameAddr, keyBirthSur, keyPhone, keyBirthGiv, keyID, keyNameYear, keyIDPrefix, keySplit}

// kindRank numbers the kinds in that order (0 for any other byte).
var kindRank = func() (r [256]uint8) {
	for i, k := range kinds {
		r[k] = uint8(i)
	}
	return r
}()

func hashKey(kind byte, parts ...string) uint64 {
	h := uint64(hashSeed)
	for i, s := range parts {
		if i > 0 {
			h = mixWord(h, 0xff)
		}
		h = hashString(h, s)
	}
	return finish(h, kind)
}

// mixWord, hashString and finish hash eight bytes at a step (the word
// step of rustc's FxHash), then mix every bit into the top ones (MurmurHash3's
// finalizer), which choose a key's bucket. Hashing a key a byte at a time
// (FNV-1a) was a tenth of a province's run: split keys hash addresses.
func mixWord(h, w uint64) uint64 { return (bits.RotateLeft64(h, 5) ^ w) * hashMul }

func hashString(h uint64, s string) uint64 {
	h = mixWord(h, uint64(len(s)))
	for ; len(s) >= 8; s = s[8:] {
		h = mixWord(h, uint64(s[0])|uint64(s[1])<<8|uint64(s[2])<<16|uint64(s[3])<<24|
			uint64(s[4])<<32|uint64(s[5])<<40|uint64(s[6])<<48|uint64(s[7])<<56)
	}
	if len(s) > 0 {
		var w uint64
		for i := range len(s) {
			w |= uint64(s[i]) << (8 * i)
		}
		h = mixWord(h, w)
	}
	return h
}

func finish(h uint64, kind byte) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h&(1<<keyKindShift-1) | uint64(kind)<<keyKindShift
}

func keyKind(h uint64) byte { return byte(h >> keyKindShift) }

// appendKeys appends the blocking keys of p to dst. Blank values make no key.
func appendKeys(dst []uint64, p *prep, checksum bool) []uint64 {
	if len(p.id) >= 4 {
		dst = append(dst, hashKey(keyID, p.id))
		if checksum && len(p.id) == 18 {
			dst = append(dst, hashKey(keyIDPrefix, p.id[:14]))
		}
	}
	for _, c := range p.repairs {
		dst = append(dst, hashKey(keyID, c))
	}
	dst = appendBirthKeys(dst, p, p.birth)
	if p.lunar != 0 && p.lunar != p.birth {
		dst = appendBirthKeys(dst, p, p.lunar)
	}
	if p.phone != "" {
		dst = append(dst, hashKey(keyPhone, p.phone))
	}
	// The name is keyed by its pinyin so that a homophone written without
	// a birth date still meets its other registration.
	if nm := cmp.Or(p.py, p.name); nm != "" {
		if p.hh != "" {
			dst = append(dst, hashKey(keyNameAddr, nm, runePrefix(p.hh, addrPrefix)))
		}
		if p.res != "" && runePrefix(p.res, addrPrefix) != runePrefix(p.hh, addrPrefix) {
			dst = append(dst, hashKey(keyNameAddr, nm, runePrefix(p.res, addrPrefix)))
		}
	}
	return dst
}

func appendBirthKeys(dst []uint64, p *prep, birth int32) []uint64 {
	if birth == 0 {
		return dst
	}
	var buf [8]byte
	date := string(strconv.AppendInt(buf[:0], int64(birth), 10))
	if p.py != "" {
		dst = append(dst, hashKey(keyNameYear, p.py, date[:4]))
	}
	if p.surPy != "" {
		dst = append(dst, hashKey(keyBirthSur, date, p.surPy))
	}
	if len(p.givenPy) >= 2 {
		dst = append(dst, hashKey(keyBirthGiv, date, p.givenPy))
	}
	return dst
}

// splitKeys appends the keys that split base's block for p: base with the
// birth date (solar, and read as lunar), the name's pinyin, and the
// household and residence address prefixes of splitPrefix runes, each a
// sub-block of its own, leaving out what base holds already. A pair of the
// block meets again in a sub-block when it agrees on one of these; a pair
// that agrees on none had only a common name and a city (or a birth date
// and a surname) between them.
func splitKeys(dst []uint64, base uint64, p *prep, sh splitHashes) []uint64 {
	kind := keyKind(base)
	if kind != keyBirthSur && kind != keyBirthGiv && kind != keyIDPrefix {
		if p.birth != 0 {
			dst = append(dst, splitKey(base, 'd', uint64(p.birth)))
		}
		if p.lunar != 0 && p.lunar != p.birth {
			dst = append(dst, splitKey(base, 'd', uint64(p.lunar)))
		}
	}
	if kind != keyNameYear && kind != keyNameAddr && sh.name != 0 {
		dst = append(dst, splitKey(base, 'n', sh.name))
	}
	if sh.hh != 0 {
		dst = append(dst, splitKey(base, 'h', sh.hh))
	}
	if sh.res != 0 && sh.res != sh.hh {
		dst = append(dst, splitKey(base, 'h', sh.res))
	}
	return dst
}

// splitKey hashes on from base's hash: field f and x, a number or the hash
// of a string (splitHashes).
func splitKey(base uint64, f byte, x uint64) uint64 {
	return finish(mixWord(mixWord(base, uint64(f)), x), keySplit)
}

// splitHashes are the hashes of a record's strings that split blocks (0
// for a blank one), hashed once a run: a record in many large blocks hashed
// them again for each, twice, a tenth of a province's run. They are kept
// only while the blocks are built (a full run's, 24 bytes a record).
type splitHashes struct{ name, hh, res uint64 }

func newSplitHashes(p *prep) splitHashes {
	h := func(s string) uint64 {
		if s == "" {
			return 0
		}
		return hashString(hashSeed, s) | 1
	}
	return splitHashes{name: h(cmp.Or(p.py, p.name)), hh: h(runePrefix(p.hh, splitPrefix)), res: h(runePrefix(p.res, splitPrefix))}
}

func runePrefix(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// posting is one (key, record) pair, with the record's tag in what would
// be padding.
type posting struct {
	h   uint64
	rec int32
	tag tag
}

func cmpPosting(a, b posting) int {
	switch {
	case a.h < b.h:
		return -1
	case a.h > b.h:
		return 1
	}
	return int(a.rec - b.rec)
}

// blockIndex is the sorted postings of all records, and for each record the
// blocks (runs of equal key) it is in that are worth comparing.
type blockIndex struct {
	post      []posting // sorted by (h, rec)
	delta     []posting // postings of records added since the full run, sorted
	dir, ddir directory // of post and of delta
	recStart  []int32   // CSR over records into recBlock
	recBlock  []int32   // offset in post of each posting of a record in a block compared
	maxBlock  int
	splitAt   int // blocks larger than this are compared by their sub-blocks
	split     int // blocks so split
	oversized int // blocks skipped for size (sub-blocks larger than maxBlock)
	overRecs  int // postings in skipped blocks
}

// buildBlocks computes keys for all records and groups them, splitting the
// blocks that reach splitAt.
func buildBlocks(ps []prep, opt Options) *blockIndex {
	post := collectPostings(ps, 0, true, opt)
	bi := &blockIndex{post: post, maxBlock: opt.MaxBlock, splitAt: opt.splitAt()}
	if large := bi.largeBlocks(bi.post); len(large) > 0 {
		sh := make([]splitHashes, len(ps))
		parallelRange(len(ps), opt.Workers, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				sh[i] = newSplitHashes(&ps[i])
			}
		})
		sp := splitPostings(large, ps, sh, opt.Workers)
		// keySplit sorts last: the sub-blocks follow every other block, into
		// the room left (a merge walked every posting on one core: 10 s at
		// ten million records).
		bi.post = append(bi.post, sp...)
	}
	bi.dir = newDirectory(bi.post)
	bi.link(len(ps))
	return bi
}

// collectPostings returns the postings of records ps, numbered from n0,
// sorted, in one slice with room for a quarter more if spare (the
// sub-block postings of a full run).
func collectPostings(ps []prep, n0 int32, spare bool, opt Options) []posting {
	return bucketed(len(ps), spare, opt.Workers, func(i int, dst []posting, keys []uint64) ([]posting, []uint64) {
		keys = recordKeys(keys[:0], &ps[i], opt.IDChecksum)
		t := tagOf(&ps[i])
		for _, k := range keys {
			dst = append(dst, posting{k, n0 + int32(i), t})
		}
		return dst, keys
	})
}

// bucketed returns the postings emit makes of items 0..n-1, sorted. It
// calls emit twice for each item, once to count its postings by bucket (a
// key's kind and the top byte of its hash) and chunk of items, and once to
// write each straight to its place: the slice is bucketed as it is
// written, and only the buckets are left to sort, on every core. Peak
// memory is the postings themselves, not growing chunks and a copy, and
// no step runs on one core alone.
func bucketed(n int, spare bool, workers int, emit func(i int, dst []posting, keys []uint64) ([]posting, []uint64)) []posting {
	const nb = len(kinds) << 8
	bucket := func(h uint64) int { return int(kindRank[keyKind(h)])<<8 | int(h>>(keyKindShift-8)&0xff) }
	off := make([][nb]int32, (n+rangeChunk-1)/rangeChunk) // per chunk: counts, then where it writes
	parallelRange(n, workers, func(lo, hi int) {
		var out []posting
		var keys []uint64
		c := &off[lo/rangeChunk]
		for i := lo; i < hi; i++ {
			out, keys = emit(i, out[:0], keys)
			for _, q := range out {
				c[bucket(q.h)]++
			}
		}
	})
	var start [nb + 1]int32
	for b := range nb {
		at := start[b]
		for c := range off {
			off[c][b], at = at, at+off[c][b]
		}
		start[b+1] = at
	}
	total := int(start[nb])
	room := 0
	if spare {
		room = total / 4
	}
	post := make([]posting, total, total+room)
	parallelRange(n, workers, func(lo, hi int) {
		var out []posting
		var keys []uint64
		c := &off[lo/rangeChunk]
		for i := lo; i < hi; i++ {
			out, keys = emit(i, out[:0], keys)
			for _, q := range out {
				b := bucket(q.h)
				post[c[b]] = q
				c[b]++
			}
		}
	})
	var next atomic.Int32
	var wg sync.WaitGroup
	for range max(1, workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := int(next.Add(1)) - 1; b < nb; b = int(next.Add(1)) - 1 {
				sortBucket(post[start[b]:start[b+1]])
			}
		}()
	}
	wg.Wait()
	return post
}

// recordKeys appends the distinct blocking keys of p, sorted.
func recordKeys(dst []uint64, p *prep, checksum bool) []uint64 {
	dst = appendKeys(dst, p, checksum)
	slices.Sort(dst)
	return slices.Compact(dst)
}

// sortBucket sorts p by (h, rec): a quicksort with the comparison inlined
// (slices.SortFunc calls cmpPosting through a pointer at every step).
func sortBucket(p []posting) {
	for len(p) > 16 {
		m := len(p) / 2
		// median of three to p[0]
		if lessPosting(p[m], p[0]) {
			p[m], p[0] = p[0], p[m]
		}
		if lessPosting(p[len(p)-1], p[0]) {
			p[len(p)-1], p[0] = p[0], p[len(p)-1]
		}
		if lessPosting(p[len(p)-1], p[m]) {
			p[len(p)-1], p[m] = p[m], p[len(p)-1]
		}
		p[0], p[m] = p[m], p[0]
		pivot := p[0]
		i, j := 1, len(p)-1
		for {
			for i <= j && lessPosting(p[i], pivot) {
				i++
			}
			for i <= j && lessPosting(pivot, p[j]) {
				j--
			}
			if i >= j {
				break
			}
			p[i], p[j] = p[j], p[i]
			i++
			j--
		}
		p[0], p[j] = p[j], p[0]
		// recurse into the smaller side, loop on the larger
		if j < len(p)-j {
			sortBucket(p[:j])
			p = p[j+1:]
		} else {
			sortBucket(p[j+1:])
			p = p[:j]
		}
	}
	for i := 1; i < len(p); i++ {
		for k := i; k > 0 && lessPosting(p[k], p[k-1]); k-- {
			p[k], p[k-1] = p[k-1], p[k]
		}
	}
}

func lessPosting(a, b posting) bool { return a.h < b.h || a.h == b.h && a.rec < b.rec }

// largeBlocks returns the postings of the blocks of post that hold splitAt
// postings or more. A block of exactly splitAt is still compared whole;
// its sub-blocks are there for a record added later, which makes it larger
// (add keeps the same rule for the blocks it grows).
func (bi *blockIndex) largeBlocks(post []posting) []posting {
	var large []posting
	for lo := 0; lo < len(post); {
		hi := blockEnd(post, lo)
		if hi-lo >= bi.splitAt && keyKind(post[lo].h) != keySplit {
			large = append(large, post[lo:hi]...)
		}
		lo = hi
	}
	return large
}

// splitPostings returns, sorted, the sub-block postings of each of post;
// sh holds the records' split hashes (nil: hash them for each posting).
func splitPostings(post []posting, ps []prep, sh []splitHashes, workers int) []posting {
	return bucketed(len(post), false, workers, func(i int, dst []posting, keys []uint64) ([]posting, []uint64) {
		q := post[i]
		var h splitHashes
		if sh != nil {
			h = sh[q.rec]
		} else {
			h = newSplitHashes(&ps[q.rec])
		}
		keys = splitKeys(keys[:0], q.h, &ps[q.rec], h)
		for _, k := range keys {
			dst = append(dst, posting{k, q.rec, q.tag})
		}
		return dst, keys
	})
}

// link fills the per-record block lists (CSR) for blocks of size
// 2..maxBlock: for each record, where its postings are in those blocks,
// but for the last posting of a block, which has no later record to meet.
func (bi *blockIndex) link(n int) {
	counts := make([]int32, n+1)
	bi.eachBlock(func(lo, hi int) {
		for _, q := range bi.post[lo : hi-1] {
			counts[q.rec+1]++
		}
	})
	for i := 1; i <= n; i++ {
		counts[i] += counts[i-1]
	}
	bi.recStart = counts
	bi.recBlock = make([]int32, counts[n])
	fill := slices.Clone(counts[:n])
	bi.eachBlock(func(lo, hi int) {
		for x := lo; x < hi-1; x++ {
			r := bi.post[x].rec
			bi.recBlock[fill[r]] = int32(x)
			fill[r]++
		}
	})
}

// later returns the postings after x in its block: the records numbered
// above x's that share its key.
func (bi *blockIndex) later(x int32) []posting {
	h := bi.post[x].h
	hi := int(x) + 1
	for hi < len(bi.post) && bi.post[hi].h == h {
		hi++
	}
	return bi.post[x+1 : hi]
}

// eachBlock calls fn for each block of comparable size, counting the split
// and the oversized ones once.
func (bi *blockIndex) eachBlock(fn func(lo, hi int)) {
	bi.split, bi.oversized, bi.overRecs = 0, 0, 0
	for lo := 0; lo < len(bi.post); {
		hi := lo + 1
		for hi < len(bi.post) && bi.post[hi].h == bi.post[lo].h {
			hi++
		}
		switch size := hi - lo; {
		case size < 2:
		case size > bi.splitAt && keyKind(bi.post[lo].h) != keySplit:
			bi.split++
		case size > bi.maxBlock:
			bi.oversized++
			bi.overRecs += size
		default:
			fn(lo, hi)
		}
		lo = hi
	}
}

// blockEnd returns the end of the block of post starting at lo.
func blockEnd(post []posting, lo int) int {
	h := post[lo].h
	hi := lo + 1
	for hi < len(post) && post[hi].h == h {
		hi++
	}
	return hi
}

// lookup returns the postings with key h in the full run's postings and in
// those added since.
func (bi *blockIndex) lookup(h uint64) (main, delta []posting) {
	return bi.dir.lookup(bi.post, h), bi.ddir.lookup(bi.delta, h)
}

// directory finds keys in sorted postings without a binary search over all
// of them (ten million postings at a million records: two dozen cache
// misses a key): slot s, made of a key's kind and the top bits of its
// hash, holds post[start[s]:start[s+1]], a handful of postings.
type directory struct {
	start []int32
	bits  uint // of the hash, below the kind
}

func newDirectory(post []posting) directory {
	d := directory{bits: uint(bits.Len(uint(len(post) / 64)))}
	d.start = make([]int32, len(kinds)<<d.bits+1)
	s := 0
	for i, q := range post {
		for k := d.slot(q.h); s <= k; s++ {
			d.start[s] = int32(i)
		}
	}
	for ; s < len(d.start); s++ {
		d.start[s] = int32(len(post))
	}
	return d
}

func (d directory) slot(h uint64) int {
	return int(kindRank[keyKind(h)])<<d.bits | int(h<<(64-keyKindShift)>>(64-d.bits))
}

func (d directory) lookup(post []posting, h uint64) []posting {
	if len(post) == 0 {
		return nil
	}
	s := d.slot(h)
	return lookupIn(post[d.start[s]:d.start[s+1]], h)
}

func lookupIn(post []posting, h uint64) []posting {
	lo, _ := slices.BinarySearchFunc(post, h, func(p posting, h uint64) int {
		switch {
		case p.h < h:
			return -1
		case p.h > h:
			return 1
		}
		return 0
	})
	hi := lo
	for hi < len(post) && post[hi].h == h {
		hi++
	}
	return post[lo:hi]
}

// add indexes records ps numbered from n0 on: their postings are merged
// into the (small, sorted) delta, and the delta into the main postings once
// it holds an eighth as many. Both merge in place: a new slice for every
// batch (20 MB for the delta of a million records) kept the garbage
// collector busy beside the pushes.
//
// ps is every indexed record, those added from n0 on. A block that reaches
// splitAt is split as the full run splits it: the sub-block postings of
// all its members when it has just reached it, of the added ones when it
// had before.
func (bi *blockIndex) add(ps []prep, n0 int32, opt Options) {
	np := collectPostings(ps[n0:], n0, false, opt)
	bi.delta = mergeInto(bi.delta, np)
	if sp := bi.splitGrown(np, ps, opt.Workers); len(sp) > 0 {
		bi.delta = mergeInto(bi.delta, sp)
	}
	if len(bi.delta) > len(bi.post)/8 {
		bi.post = mergeInto(bi.post, bi.delta)
		bi.delta = bi.delta[:0]
		bi.dir = newDirectory(bi.post)
	}
	bi.ddir = newDirectory(bi.delta)
}

// splitGrown returns, sorted, the sub-block postings the blocks of the added
// postings np need (np is in the delta already, its directory not yet).
func (bi *blockIndex) splitGrown(np []posting, ps []prep, workers int) []posting {
	var grown []posting // members whose sub-block postings are missing
	for lo := 0; lo < len(np); {
		hi := blockEnd(np, lo)
		main, delta := bi.dir.lookup(bi.post, np[lo].h), lookupIn(bi.delta, np[lo].h)
		switch size := len(main) + len(delta); {
		case size < bi.splitAt:
		case size-(hi-lo) < bi.splitAt:
			grown = append(grown, main...)
			grown = append(grown, delta...)
		default:
			grown = append(grown, np[lo:hi]...)
		}
		lo = hi
	}
	if len(grown) == 0 {
		return nil
	}
	return splitPostings(grown, ps, nil, workers)
}

// mergeInto merges sorted b into sorted a, from the back, in a's array when
// it has room.
func mergeInto(a, b []posting) []posting {
	i, j := len(a)-1, len(b)-1
	a = slices.Grow(a, len(b))[:len(a)+len(b)]
	for k := len(a) - 1; j >= 0; k-- {
		if i >= 0 && cmpPosting(a[i], b[j]) > 0 {
			a[k], i = a[i], i-1
		} else {
			a[k], j = b[j], j-1
		}
	}
	return a
}
