package dedup

import "unicode/utf8"

// levels is the agreement level of each field for one pair.
type levels [numFields]Level

// compare computes the agreement level of every field of a pair.
func compare(a, b *prep, checksum bool) levels {
	var l levels
	l[FieldName] = compareName(a, b)
	l[FieldBirth] = compareBirth(a, b)
	l[FieldID] = compareID(a, b, checksum)
	l[FieldGender] = compareGender(a.gender, b.gender)
	l[FieldPhone] = comparePhone(a.phone, b.phone)
	l[FieldAddress] = compareAddress(a, b)
	return l
}

// closeName is the Jaro-Winkler similarity from which names are "close".
const closeName = 0.92

func compareName(a, b *prep) Level {
	switch {
	case a.name == "" || b.name == "":
		return LevelMissing
	case a.name == b.name:
		return LevelExact
	case a.py != "" && a.py == b.py:
		return LevelPinyin
	case a.fuzzy != "" && a.fuzzy == b.fuzzy:
		return LevelClose // dialect sounds: 黄伟 and 王伟
	case jwStrings(a.py, b.py) >= closeName, jwStrings(a.name, b.name) >= closeName:
		return LevelClose
	case a.surPy != "" && a.surPy+a.givenPy == b.givenPy+b.surPy:
		return LevelClose // given name and surname swapped
	}
	return LevelDisagree
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

func compareID(a, b *prep, checksum bool) Level {
	switch {
	case a.id == "" || b.id == "":
		return LevelMissing
	case a.id == b.id:
		return LevelExact
	case checksum && a.idValid && b.idValid:
		return LevelConflict
	case repairedTo(a, b) || repairedTo(b, a) || sharedRepair(a, b):
		return LevelRepaired
	case oneEdit(a.id, b.id):
		return LevelClose
	}
	return LevelDisagree
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

func compareAddress(a, b *prep) Level {
	as, bs := [2]string{a.hh, a.res}, [2]string{b.hh, b.res}
	present := false
	for _, x := range as {
		for _, y := range bs {
			if x != "" && y != "" {
				if x == y {
					return LevelExact
				}
				present = true
			}
		}
	}
	if !present {
		return LevelMissing
	}
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
				return LevelClose
			}
		}
	}
	return LevelDisagree
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
