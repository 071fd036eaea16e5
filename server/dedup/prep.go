package dedup

import (
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/model/idcard"
	"github.com/dengji/dengji/model/lunar"
)

// prep is a record after normalisation: what blocking and scoring read.
type prep struct {
	name    string // NormalizeName
	py      string // toneless pinyin of the whole name
	surPy   string // pinyin of the surname ("" if unknown)
	givenPy string // pinyin of the given name
	fuzzy   string // FuzzyPinyin of the name
	id      string // normalized ID (upgraded from 15 digits)
	repairs []string
	phone   string
	hh, res string // normalized addresses
	birth   int32  // YYYYMMDD, 0 if unknown
	lunar   int32  // YYYYMMDD of the solar date if birth is read as lunar, 0 if none
	county  int32  // the district code's first six digits (FieldCounty), 0 if it has none
	idValid bool   // id passed the checksum (IDChecksum only)
	legacy  bool   // id was given as 15 digits
	gender  byte   // 'M', 'F' or 0
}

// prepareAll normalises records with the given number of workers, into a
// slice with room for incremental runs to add a sixteenth more (see
// withRoom).
func prepareAll(recs []Record, opt Options) []prep {
	out := make([]prep, len(recs), withRoom(len(recs)))
	parallelRange(len(recs), opt.Workers, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out[i] = prepare(&recs[i], opt.IDChecksum)
		}
	})
	return out
}

// withRoom is the capacity of an index's per-record slices for n records:
// room for a sixteenth more, so that the first incremental runs after a
// full one append instead of copying them (at ten million records, the
// prepared records alone are 1.8 GB). Room the heap takes fresh from the
// system is not touched until written: it costs address space, not memory.
func withRoom(n int) int { return n + n/16 }

// parallelRange runs fn over [0,n) split into chunks across workers.
func parallelRange(n, workers int, fn func(lo, hi int)) {
	parallelRangeW(n, workers, func(_, lo, hi int) { fn(lo, hi) })
}

// rangeChunk is the size of the chunks parallelRange hands out; each starts
// at a multiple of it.
const rangeChunk = 4096

// parallelRangeW is parallelRange telling fn which worker (0..workers-1)
// runs it.
func parallelRangeW(n, workers int, fn func(w, lo, hi int)) {
	workers = max(1, workers)
	var next int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				mu.Lock()
				lo := int(next)
				next += rangeChunk
				mu.Unlock()
				if lo >= n {
					return
				}
				fn(w, lo, min(n, lo+rangeChunk))
			}
		}(w)
	}
	wg.Wait()
}

func prepare(r *Record, checksum bool) prep {
	var p prep
	p.name = NormalizeName(r.Name)
	p.py, p.surPy = NamePinyin(p.name)
	p.givenPy = strings.TrimPrefix(p.py, p.surPy)
	p.fuzzy = FuzzyPinyin(p.name)
	if p.surPy == "" {
		p.surPy, p.givenPy = latinSurname(r.Name)
	}
	p.gender = parseGender(r.Gender)
	p.birth = parseBirth(r.BirthDate)
	prepareID(&p, r.IDNumber, checksum)
	p.lunar = lunarAsSolar(p.birth)
	p.phone = NormalizePhone(r.Phone)
	p.hh = NormalizeAddress(r.HouseholdAddress)
	p.res = NormalizeAddress(r.ResidenceAddress)
	p.county = countyOf(r.District)
	if p.res == p.hh {
		p.res = "" // one address, compared once
	}
	return p
}

// countyOf is the county code a district code begins with
// (model.CountyOf) as a number, 0 if it does not begin with six digits.
func countyOf(district string) int32 {
	c, err := strconv.ParseUint(model.CountyOf(district), 10, 31)
	if err != nil {
		return 0
	}
	return int32(c)
}

// latinSurname splits a Latin name "given surname" at its last word.
func latinSurname(raw string) (surname, given string) {
	f := strings.FieldsFunc(raw, func(r rune) bool { return isNameSeparator(model.FoldWidth(r)) })
	if len(f) < 2 {
		return "", NormalizeName(raw)
	}
	return NormalizeName(f[len(f)-1]), NormalizeName(strings.Join(f[:len(f)-1], ""))
}

func parseGender(s string) byte {
	switch model.NormalizeGender(s) {
	case "M":
		return 'M'
	case "F":
		return 'F'
	}
	return 0
}

// parseBirth reads a date written any way model.NormalizeDate accepts into
// YYYYMMDD; 0 if blank or not a real date in 1850-2200.
func parseBirth(s string) int32 {
	d, ok := model.NormalizeDate(s)
	if !ok {
		return 0
	}
	y, m, day := atoi4(d[0:4]), atoi4(d[5:7]), atoi4(d[8:10])
	if !validDate(int(y), int(m), int(day)) {
		return 0
	}
	return y*10000 + m*100 + day
}

func atoi4(s string) int32 {
	var n int32
	for i := 0; i < len(s); i++ {
		n = n*10 + int32(s[i]-'0')
	}
	return n
}

func validDate(y, m, d int) bool {
	if y < 1850 || y > 2200 || m < 1 || m > 12 || d < 1 || d > 31 {
		return false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	return t.Day() == d
}

var (
	lunarCacheMu sync.RWMutex
	lunarCache   = map[int32]int32{}
)

// lunarAsSolar reads a YYYYMMDD birth date as a lunar date and returns the
// solar YYYYMMDD, or 0 if it is not a lunar date in range.
func lunarAsSolar(b int32) int32 {
	if b == 0 {
		return 0
	}
	lunarCacheMu.RLock()
	v, ok := lunarCache[b]
	lunarCacheMu.RUnlock()
	if ok {
		return v
	}
	sy, sm, sd, ok := lunar.ToSolar(int(b/10000), int(b/100%100), int(b%100))
	if ok {
		v = int32(sy*10000 + sm*100 + sd)
	}
	lunarCacheMu.Lock()
	lunarCache[b] = v
	lunarCacheMu.Unlock()
	return v
}

func prepareID(p *prep, raw string, checksum bool) {
	if !checksum {
		p.id = plainID(raw)
		return
	}
	n := model.NormalizeIDNumber(raw)
	p.legacy = len(n) == 18 && len(idcard.Normalize(raw)) == 15
	p.id = n
	if n == "" {
		return
	}
	id, err := idcard.Parse(n)
	if err != nil {
		p.repairs = idcard.Candidates(n)
		return
	}
	p.idValid = true
	if p.birth == 0 {
		y, m, d := id.Birth.Date()
		p.birth = int32(y*10000 + int(m)*100 + d)
	}
	if p.gender == 0 {
		p.gender = 'F'
		if id.Male {
			p.gender = 'M'
		}
	}
}

// plainID normalizes an ID without checksum semantics: letters and digits,
// upper-cased.
func plainID(s string) string {
	var b strings.Builder
	for _, r := range s {
		r = unicode.ToUpper(model.FoldWidth(r))
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}
