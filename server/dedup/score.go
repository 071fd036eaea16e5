package dedup

import "unicode/utf8"

// levels is the agreement level of each field for one pair.
type levels [numFields]Level

// compare computes the agreement level of every field of a pair.
func compare(a, b *prep, checksum bool) levels {
	lv, pending := compareCheap(a, b, checksum)
	settle(&lv, pending, a, b)
	return lv
}

// pending marks the fields whose level compareCheap left to settle, one bit
// per Field: the name and the addresses, which only a Jaro–Winkler
// comparison tells close from disagreeing, and an ID number with checksum
// repairs, which may be repaired to the other. Such a field is at the level
// compareCheap gave it or at its upgrade, nothing else.
type pending uint8

// upgrade is the one level a pending field may rise to.
var upgrade = levels{FieldName: LevelClose, FieldID: LevelRepaired, FieldAddress: LevelClose}

// compareCheap computes the levels that take no string metric: every field
// but the pending ones is final; a pending one is at its lower level.
func compareCheap(a, b *prep, checksum bool) (levels, pending) {
	var l levels
	var p pending
	var open bool
	l[FieldBirth] = compareBirth(a, b)
	l[FieldGender] = compareGender(a.gender, b.gender)
	l[FieldPhone] = comparePhone(a.phone, b.phone)
	l[FieldCounty] = compareCounty(a.county, b.county)
	l[FieldName], open = compareName(a, b)
	p.mark(FieldName, open)
	l[FieldID], open = compareID(a, b, checksum)
	p.mark(FieldID, open)
	l[FieldAddress], open = compareAddress(a, b)
	p.mark(FieldAddress, open)
	return l, p
}

func (p *pending) mark(f Field, open bool) {
	if open {
		*p |= 1 << f
	}
}

func (p pending) has(f Field) bool { return p&(1<<f) != 0 }

// settle makes the costly comparisons of the pending fields.
func settle(l *levels, p pending, a, b *prep) {
	if p.has(FieldName) && namesClose(a, b) {
		l[FieldName] = LevelClose
	}
	if p.has(FieldID) && (repairedTo(a, b) || repairedTo(b, a) || sharedRepair(a, b)) {
		l[FieldID] = LevelRepaired
	}
	if p.has(FieldAddress) && addressesClose(a, b) {
		l[FieldAddress] = LevelClose
	}
}

// compareCounty compares the counties of two districts: exact in the same
// county, close in the same city.
func compareCounty(a, b int32) Level {
	switch {
	case a == 0 || b == 0:
		return LevelMissing
	case a == b:
		return LevelExact
	case a/100 == b/100:
		return LevelClose
	}
	return LevelDisagree
}

// countyCounts reports whether the county is evidence at levels l: not
// where the addresses agree (they are in one county, and the county would
// say it twice).
func countyCounts(l *levels) bool { return l[FieldAddress] < LevelClose }

// closeName is the Jaro-Winkler similarity from which names are "close".
const closeName = 0.92

// compareName leaves names that differ in sound pending: namesClose
// decides.
func compareName(a, b *prep) (Level, bool) {
	switch {
	case a.name == "" || b.name == "":
		return LevelMissing, false
	case a.name == b.name:
		return LevelExact, false
	case a.py != "" && a.py == b.py:
		return LevelPinyin, false
	case a.fuzzy != "" && a.fuzzy == b.fuzzy:
		return LevelClose, false // dialect sounds: 黄伟 and 王伟
	}
	return LevelDisagree, true
}

// namesClose reports names spelt alike, or with given name and surname
// swapped.
func namesClose(a, b *prep) bool {
	return jwStrings(a.py, b.py) >= closeName || jwStrings(a.name, b.name) >= closeName ||
		a.surPy != "" && a.surPy+a.givenPy == b.givenPy+b.surPy
}

func compareBirth(a, b *prep) Level {
	switch {
	case a.birth == 0 || b.birth == 0:
		return LevelMissing
	case a.birth == b.birth:
		return LevelExact
	case a.lunar == b.birth || b.lunar == a.birth:
		return LevelLunar
	case datesClose(a.birth, b.birth):
		return LevelClose
	}
	return LevelDisagree
}

// datesClose reports one wrong digit, two adjacent digits swapped, or day
// and month swapped.
func datesClose(a, b int32) bool {
	if a%10000/100 == b%100 && a%100 == b%10000/100 && a/10000 == b/10000 {
		return true
	}
	var da, db [8]byte
	for i := 7; i >= 0; i-- {
		da[i], db[i] = byte(a%10), byte(b%10)
		a, b = a/10, b/10
	}
	diff := 0
	first := -1
	for i := range da {
		if da[i] != db[i] {
			diff++
			if first < 0 {
				first = i
			}
		}
	}
	if diff == 1 {
		return true
	}
	return diff == 2 && first < 7 && da[first] == db[first+1] && da[first+1] == db[first]
}

// compareID leaves an ID with checksum repairs pending: it may be repaired
// to the other, or share a repair with it.
func compareID(a, b *prep, checksum bool) (Level, bool) {
	switch {
	case a.id == "" || b.id == "":
		return LevelMissing, false
	case a.id == b.id:
		return LevelExact, false
	case checksum && a.idValid && b.idValid:
		return LevelConflict, false
	}
	l := LevelDisagree
	if oneEdit(a.id, b.id) {
		l = LevelClose
	}
	return l, len(a.repairs) > 0 || len(b.repairs) > 0
}

func repairedTo(broken, valid *prep) bool {
	for _, c := range broken.repairs {
		if c == valid.id {
			return true
		}
	}
	return false
}

func sharedRepair(a, b *prep) bool {
	for _, x := range a.repairs {
		for _, y := range b.repairs {
			if x == y {
				return true
			}
		}
	}
	return false
}

func compareGender(a, b byte) Level {
	switch {
	case a == 0 || b == 0:
		return LevelMissing
	case a == b:
		return LevelExact
	}
	return LevelDisagree
}

func comparePhone(a, b string) Level {
	switch {
	case a == "" || b == "":
		return LevelMissing
	case a == b:
		return LevelExact
	case oneEdit(a, b):
		return LevelClose
	}
	return LevelDisagree
}

// closeAddress is the Jaro-Winkler similarity from which addresses are "close".
const closeAddress = 0.9

// compareAddress leaves addresses that are present and all different
// pending: addressesClose decides.
func compareAddress(a, b *prep) (Level, bool) {
	present := false
	for _, x := range [2]string{a.hh, a.res} {
		for _, y := range [2]string{b.hh, b.res} {
			if x != "" && y != "" {
				if x == y {
					return LevelExact, false
				}
				present = true
			}
		}
	}
	if !present {
		return LevelMissing, false
	}
	return LevelDisagree, true
}

// addressLevel is the level of the addresses alone.
func addressLevel(a, b *prep) Level {
	l, open := compareAddress(a, b)
	if open && addressesClose(a, b) {
		return LevelClose
	}
	return l
}

// addressesClose reports an address of one within Jaro–Winkler closeAddress
// of one of the other's.
func addressesClose(a, b *prep) bool {
	as, bs := [2]string{a.hh, a.res}, [2]string{b.hh, b.res}
	// Each address is decoded once for the up to four comparisons.
	var buf [4][maxJaroLen]rune
	var ra, rb [2][]rune
	for k := range 2 {
		ra[k] = decode(buf[k][:0], as[k])
		rb[k] = decode(buf[2+k][:0], bs[k])
	}
	for x := range 2 {
		for y := range 2 {
			if len(ra[x]) > 0 && len(rb[y]) > 0 && jaroWinkler(ra[x], rb[y]) >= closeAddress {
				return true
			}
		}
	}
	return false
}

// jwStrings is jaroWinkler over UTF-8 strings, decoded on the stack.
func jwStrings(a, b string) float64 {
	var ra, rb [maxJaroLen]rune
	return jaroWinkler(decode(ra[:0], a), decode(rb[:0], b))
}

// decode appends the runes of s up to dst's capacity. ASCII (pinyin) and
// three-byte characters (Han) are decoded inline: the normalized strings it
// reads are valid UTF-8, and this runs for every compared pair.
func decode(dst []rune, s string) []rune {
	for len(s) > 0 && len(dst) < cap(dst) {
		switch c := s[0]; {
		case c < utf8.RuneSelf:
			dst = append(dst, rune(c))
			s = s[1:]
		case c&0xF0 == 0xE0 && len(s) >= 3 && s[1]&0xC0 == 0x80 && s[2]&0xC0 == 0x80:
			dst = append(dst, rune(c&0x0F)<<12|rune(s[1]&0x3F)<<6|rune(s[2]&0x3F))
			s = s[3:]
		default:
			r, n := utf8.DecodeRuneInString(s)
			dst = append(dst, r)
			s = s[n:]
		}
	}
	return dst
}
