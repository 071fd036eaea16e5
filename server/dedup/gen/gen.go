// Package gen generates synthetic Chinese voter rolls with planted
// duplicates, hard negatives and ground truth, deterministically from a
// seed, for testing and measuring package dedup.
package gen

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/dengji/dengji/model/idcard"
	"github.com/dengji/dengji/server/dedup"
)

// Config sets the size and the mixture of a generated roll.
type Config struct {
	Records int    // total records to produce
	Seed    uint64 // same seed, same roll
	// DupRate is the share of persons registered twice (a tenth of them
	// three times); TwinRate, RelativeRate and NamesakeRate are the shares
	// of persons who get a twin, a relative at the same address, or an
	// unrelated person with the same name and birth date.
	DupRate, TwinRate, RelativeRate, NamesakeRate float64
}

// DefaultConfig returns a realistic mixture for n records.
func DefaultConfig(n int, seed uint64) Config {
	return Config{Records: n, Seed: seed, DupRate: 0.05, TwinRate: 0.01, RelativeRate: 0.15, NamesakeRate: 0.002}
}

// person is the truth behind one or more registrations.
type person struct {
	entity        int
	surname       string
	given         string
	minority      bool
	male          bool
	birth         [3]int // y, m, d
	id            string // valid 18-character ID
	county        int
	household     string
	residence     string
	phone         string
	district      string
	legacyAllowed bool
}

type generator struct {
	cfg      Config
	rng      *rand.Rand
	surCum   []float64
	recs     []dedup.Record
	truth    []string
	entities int
	// ids holds the first 17 digits of every ID issued: a resident ID
	// belongs to one person, so two persons must never be given the same.
	ids map[uint64]struct{}
}

// Generate returns records and, for each, the ID of the entity (person) it
// registers. Records of one entity are duplicates of each other.
func Generate(cfg Config) (recs []dedup.Record, truth []string) {
	g := &generator{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0xd3e1)), recs: make([]dedup.Record, 0, cfg.Records+8),
		ids: make(map[uint64]struct{}, cfg.Records)}
	g.truth = make([]string, 0, cfg.Records+8)
	acc := 0.0
	for _, s := range surnames {
		acc += s.w
		g.surCum = append(g.surCum, acc)
	}
	for len(g.recs) < cfg.Records {
		g.emitPerson()
	}
	return g.recs[:cfg.Records], g.truth[:cfg.Records]
}

func (g *generator) emitPerson() {
	p := g.newPerson()
	g.register(p, p.district, false)
	if g.chance(g.cfg.DupRate) {
		g.register(p, g.otherDistrict(p), true)
		if g.chance(0.1) {
			g.register(p, g.otherDistrict(p), true)
		}
	}
	switch r := g.rng.Float64(); {
	case r < g.cfg.TwinRate:
		g.register(g.twin(p), p.district, false)
	case r < g.cfg.TwinRate+g.cfg.RelativeRate:
		g.register(g.relative(p), p.district, false)
	case r < g.cfg.TwinRate+g.cfg.RelativeRate+g.cfg.NamesakeRate:
		a := g.commonPerson()
		g.register(a, "", false)
		g.register(g.namesake(a), "", false)
	}
}

func (g *generator) chance(p float64) bool { return g.rng.Float64() < p }

func (g *generator) pick(n int) int { return g.rng.IntN(n) }

// zipf picks an index in [0,n) with weight 1/(i+1)^s.
func (g *generator) zipf(n int, s float64) int {
	for {
		i := int(float64(n) * g.rng.Float64() * g.rng.Float64()) // fast skew
		if s <= 0.9 || g.chance(0.7) {
			return i
		}
		return g.pick(n)
	}
}

func (g *generator) surname() string {
	x := g.rng.Float64() * g.surCum[len(g.surCum)-1]
	i, _ := slices.BinarySearch(g.surCum, x)
	return surnames[min(i, len(surnames)-1)].s
}

func (g *generator) givenName(male bool) string {
	pop, chars := popularFemale, charsFemale
	if male {
		pop, chars = popularMale, charsMale
	}
	if g.chance(0.35) {
		return pop[g.zipf(len(pop), 1)]
	}
	c1 := chars[g.zipf(len(chars), 0.8)]
	if g.chance(0.25) {
		return string(c1)
	}
	return string(c1) + string(chars[g.zipf(len(chars), 0.8)])
}

func (g *generator) newPerson() *person {
	g.entities++
	p := &person{entity: g.entities, male: g.chance(0.5)}
	if g.chance(0.02) {
		p.minority = true
		p.given = uyghurNames[g.pick(len(uyghurNames))] + "·" + uyghurNames[g.pick(len(uyghurNames))]
	} else {
		p.surname, p.given = g.surname(), g.givenName(p.male)
	}
	p.birth = g.birthDate(1940, 2007)
	p.county = g.pick(len(counties))
	p.id = g.idNumber(p.county, p.birth, p.male)
	p.household = g.address(p.county)
	p.residence = p.household
	if g.chance(0.4) {
		p.residence = g.address(g.nearCounty(p.county))
	}
	if g.chance(0.85) {
		p.phone = g.phone()
	}
	p.district = g.district(p.county)
	return p
}

func (g *generator) birthDate(from, to int) [3]int {
	y := from + g.pick(to-from+1)
	m := 1 + g.pick(12)
	d := 1 + g.pick(daysIn(y, m))
	return [3]int{y, m, d}
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func (g *generator) nearCounty(c int) int {
	if g.chance(0.6) {
		return c
	}
	return g.pick(len(counties))
}

// idNumber issues an ID not yet given to anybody (the sequence number is
// redrawn on a collision; the 500 per sex and day are never exhausted).
func (g *generator) idNumber(county int, b [3]int, male bool) string {
	var first17 string
	for {
		seq := g.pick(500) * 2
		if male {
			seq++
		}
		first17 = counties[county].code + date8(b) + pad(seq, 3)
		k, _ := strconv.ParseUint(first17, 10, 64)
		if _, used := g.ids[k]; !used {
			g.ids[k] = struct{}{}
			break
		}
	}
	c, _ := idcard.CheckDigit(first17)
	return first17 + string(c)
}

func date8(b [3]int) string { return pad(b[0], 4) + pad(b[1], 2) + pad(b[2], 2) }

func pad(v, w int) string {
	s := strconv.Itoa(v)
	for len(s) < w {
		s = "0" + s
	}
	return s
}

func (g *generator) address(county int) string {
	c := counties[county].name
	if g.chance(0.5) {
		return c + streets[g.pick(len(streets))] + strconv.Itoa(1+g.pick(300)) + "号"
	}
	v := villageNames[g.pick(len(villageNames))] + villageSuffix[g.pick(2)]
	return c + v + strconv.Itoa(1+g.pick(12)) + "组" + strconv.Itoa(1+g.pick(80)) + "号"
}

func (g *generator) phone() string {
	return "1" + string("35789"[g.pick(5)]) + pad(g.pick(1000000000), 9)
}

func (g *generator) district(county int) string {
	return counties[county].code + string("VCW"[g.pick(3)]) + pad(g.pick(40), 3)
}

func (g *generator) otherDistrict(p *person) string {
	for {
		d := g.district(g.nearCounty(p.county))
		if d != p.district {
			return d
		}
	}
}

// twin shares surname, birth date, addresses and often the phone; the name
// is similar and the ID differs in the sequence number.
func (g *generator) twin(p *person) *person {
	t := *p
	g.entities++
	t.entity, t.male = g.entities, g.chance(0.5)
	if !p.minority {
		t.given = g.twinName(p.given, t.male)
	}
	t.id = g.idNumber(p.county, p.birth, t.male)
	for t.id == p.id {
		t.id = g.idNumber(p.county, p.birth, t.male)
	}
	if g.chance(0.5) {
		t.phone = g.phone()
	}
	return &t
}

func (g *generator) twinName(given string, male bool) string {
	rs := []rune(given)
	switch {
	case len(rs) == 2 && g.chance(0.5): // 建国 / 建军: shared generation character
		chars := charsFemale
		if male {
			chars = charsMale
		}
		for {
			c := chars[g.pick(len(chars))]
			if c != rs[1] {
				return string(rs[0]) + string(c)
			}
		}
	case g.chance(0.15):
		if h, ok := g.homophone(rs); ok && h != given {
			return h
		}
	}
	for {
		if n := g.givenName(male); n != given {
			return n
		}
	}
}

// relative lives at the same address: a parent, child or spouse.
func (g *generator) relative(p *person) *person {
	r := g.newPerson()
	r.household, r.residence, r.district = p.household, p.residence, p.district
	if g.chance(0.7) && !p.minority {
		r.surname = p.surname
	}
	y := p.birth[0] + []int{-28, 26, 2}[g.pick(3)]
	if y > 2007 || y < 1925 {
		y = p.birth[0] - 2
	}
	r.birth = g.birthDate(y, y)
	r.county = p.county
	r.id = g.idNumber(p.county, r.birth, r.male)
	if g.chance(0.3) {
		r.phone = p.phone
	}
	return r
}

// commonPerson has one of the ten commonest surnames and a popular given name.
func (g *generator) commonPerson() *person {
	p := g.newPerson()
	p.minority = false
	p.surname = surnames[g.pick(10)].s
	pop := popularFemale
	if p.male {
		pop = popularMale
	}
	p.given = pop[g.zipf(len(pop), 1)]
	return p
}

// namesake is unrelated but has the same name and birth date.
func (g *generator) namesake(p *person) *person {
	n := g.newPerson()
	n.surname, n.given, n.minority, n.male, n.birth = p.surname, p.given, p.minority, p.male, p.birth
	n.id = g.idNumber(n.county, n.birth, n.male)
	return n
}

// register appends a registration of p; a duplicate carries realistic,
// independently drawn errors.
func (g *generator) register(p *person, district string, dup bool) {
	if district == "" {
		district = p.district
	}
	r := dedup.Record{
		ID: "R" + strconv.Itoa(len(g.recs)+1), Ref: "P" + strconv.Itoa(p.entity), District: district,
		Name: p.surname + p.given, Gender: gender(p.male), BirthDate: dateISO(p.birth),
		IDNumber: p.id, HouseholdAddress: p.household, ResidenceAddress: p.residence, Phone: p.phone,
	}
	g.baseNoise(&r, p)
	if dup {
		g.dupNoise(&r, p)
	}
	g.recs = append(g.recs, r)
	g.truth = append(g.truth, strconv.Itoa(p.entity))
}

func gender(male bool) string {
	if male {
		return "M"
	}
	return "F"
}

func dateISO(b [3]int) string { return pad(b[0], 4) + "-" + pad(b[1], 2) + "-" + pad(b[2], 2) }

// baseNoise is what any registration may have: blanks and legacy IDs.
func (g *generator) baseNoise(r *dedup.Record, p *person) {
	if g.chance(0.03) {
		r.IDNumber = ""
	} else if p.birth[0] < 1980 && g.chance(0.03) {
		r.IDNumber = legacy15(p.id)
	}
	if g.chance(0.02) {
		r.Gender = ""
	}
	if g.chance(0.02) {
		r.BirthDate = ""
	}
	if g.chance(0.3) {
		r.ResidenceAddress = ""
	}
}

func legacy15(id string) string { return id[:6] + id[8:17] }

func (g *generator) dupNoise(r *dedup.Record, p *person) {
	g.idNoise(r, p)
	g.nameNoise(r, p)
	g.birthNoise(r, p)
	if g.chance(0.5) {
		r.Phone = ""
		if g.chance(0.6) {
			r.Phone = g.phone()
		}
	}
	if g.chance(0.35) {
		r.HouseholdAddress = g.address(g.nearCounty(p.county))
	}
	if g.chance(0.6) {
		r.ResidenceAddress = g.address(g.nearCounty(p.county))
	}
	if g.chance(0.1) {
		r.Gender = ""
	}
}

func (g *generator) idNoise(r *dedup.Record, p *person) {
	switch x := g.rng.Float64(); {
	case x < 0.25: // migrants' IDs are often missing
		r.IDNumber = ""
	case x < 0.37:
		r.IDNumber = g.mistype(p.id)
	case x < 0.41 && p.birth[0] < 2000:
		r.IDNumber = legacy15(p.id)
	case x < 0.43: // full-width digits and a lower-case x from a phone keyboard
		r.IDNumber = fullWidth(strings.ToLower(p.id))
	}
}

// mistype changes one digit or swaps two adjacent different digits.
func (g *generator) mistype(id string) string {
	b := []byte(id)
	if g.chance(0.6) {
		i := g.pick(17)
		for {
			c := byte('0' + g.pick(10))
			if c != b[i] {
				b[i] = c
				return string(b)
			}
		}
	}
	for tries := 0; tries < 20; tries++ {
		i := g.pick(17)
		if b[i] != b[i+1] && b[i+1] != 'X' {
			b[i], b[i+1] = b[i+1], b[i]
			return string(b)
		}
	}
	return id
}

func fullWidth(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			r += 0xFF10 - '0'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (g *generator) nameNoise(r *dedup.Record, p *person) {
	given := []rune(p.given)
	if p.minority {
		if g.chance(0.6) {
			seps := []string{"", "•", ".", " ", "・", "-"}
			r.Name = strings.ReplaceAll(p.given, "·", seps[g.pick(len(seps))])
		}
		return
	}
	if g.chance(0.14) {
		if h, ok := g.homophone(given); ok {
			r.Name = p.surname + h
		}
	}
	if g.chance(0.10) {
		r.Name = toTraditional(r.Name)
	}
	if g.chance(0.02) { // a wrong character altogether
		rs := []rune(r.Name)
		rs[len(rs)-1] = charsMale[g.pick(len(charsMale))]
		r.Name = string(rs)
	}
	if g.chance(0.02) {
		r.Name = r.Name[:len(p.surname)] + " " + r.Name[len(p.surname):]
	}
}

func (g *generator) homophone(given []rune) (string, bool) {
	for _, k := range g.rng.Perm(len(given)) {
		for _, grp := range homophones {
			if i := slices.Index(grp, given[k]); i >= 0 {
				out := slices.Clone(given)
				out[k] = grp[(i+1+g.pick(len(grp)-1))%len(grp)]
				return string(out), true
			}
		}
	}
	return "", false
}

func toTraditional(s string) string {
	rs := []rune(s)
	for i, r := range rs {
		if t, ok := traditional[r]; ok {
			rs[i] = t
		}
	}
	return string(rs)
}

func (g *generator) birthNoise(r *dedup.Record, p *person) {
	switch x := g.rng.Float64(); {
	case x < 0.07: // lunar birthday written as a solar date
		if ly, lm, ld, _, ok := dedup.SolarToLunar(p.birth[0], p.birth[1], p.birth[2]); ok {
			r.BirthDate = dateISO([3]int{ly, lm, ld})
		}
	case x < 0.11:
		r.BirthDate = ""
	case x < 0.13 && len(r.BirthDate) == 10:
		b := []byte(r.BirthDate)
		i := []int{2, 3, 6, 8, 9}[g.pick(5)]
		b[i] = byte('0' + g.pick(10))
		r.BirthDate = string(b)
	case x < 0.14 && p.birth[2] <= 12:
		r.BirthDate = dateISO([3]int{p.birth[0], p.birth[2], p.birth[1]})
	}
}
