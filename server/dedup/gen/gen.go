// Package gen generates synthetic Chinese voter rolls with planted
// duplicates, hard negatives and ground truth, deterministically from a
// seed, for testing and measuring package dedup.
//
// A roll is shaped like one real county or a few neighbouring counties of
// one city, drawn by the seed from the division table: villages and
// communities with their 12-digit statistical codes, work units numbered
// after their town or county. People are registered where they live; some
// migrants (外出务工) are registered a second time where they work, and work
// units register employees who are registered at home too. Registrations
// carry the dirt of real rolls: missing, mistyped and 15-digit IDs,
// homophones and dialect surnames, traditional characters, lunar birthdays.
package gen

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/dengji/dengji/model/idcard"
	"github.com/dengji/dengji/model/lunar"
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

// Roles of a registration (Label.Role).
const (
	RoleHome     = "home"      // where the person lives
	RoleUnit     = "unit"      // at the work unit, and nowhere else
	RoleMigrant  = "migrant"   // a migrant's second registration where they work
	RoleWorkUnit = "work_unit" // a work unit's registration of someone registered at home too
	RoleMoved    = "moved"     // a second registration in the same county (moved, registered twice)
)

// Relations of a person to another one (Label.Relation): hard non-duplicates.
const (
	RelTwin     = "twin"
	RelRelative = "relative" // parent, child or spouse at the same address
	RelNamesake = "namesake" // same name and birth date, unrelated
)

// Label says how a record was planted.
type Label struct {
	Role     string // Role*
	Relation string // Rel* or ""
	Related  string // the person the relation is to
	Noise    string // the dirt applied, tags joined by "+" (e.g. "no_id+lunar")
}

// Bad rows: no person could repair them, so the import must refuse them.
const (
	NoiseNoName      = "bad_no_name"
	NoiseNoIDNoBirth = "bad_no_id_no_birth"
)

// Roll is a generated roll: its districts, registrations and truth.
type Roll struct {
	Seed      uint64
	City      string     // the city's 4-digit code
	Counties  []string   // the counties' 6-digit codes
	Districts []District // in code order
	Records   []dedup.Record
	Truth     []string // per record: the person it registers
	Labels    []Label  // per record
}

// person is the truth behind one or more registrations.
type person struct {
	entity    int
	surname   string
	given     string
	minority  bool
	male      bool
	birth     [3]int // y, m, d
	id        string // valid 18-character ID
	county    int    // index in the roll's counties
	home      int    // index of the home district
	household string
	residence string
	phone     string
	relation  string
	related   int
}

type generator struct {
	cfg       Config
	rng       *rand.Rand
	surCum    []float64
	geo       *geography
	roll      *Roll
	entities  int
	unitShare float64 // share of persons employed by a work unit
	dupRate   float64 // DupRate among the others
	// ids holds the first 17 digits of every ID issued: a resident ID
	// belongs to one person, so two persons must never be given the same.
	ids  map[uint64]struct{}
	tags []string // the current record's noise
}

// Generate returns records and, for each, the ID of the entity (person) it
// registers. Records of one entity are duplicates of each other.
func Generate(cfg Config) (recs []dedup.Record, truth []string) {
	r := NewRoll(cfg)
	return r.Records, r.Truth
}

// NewRoll generates a roll with its districts and labels.
func NewRoll(cfg Config) *Roll {
	g := &generator{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0xd3e1)), ids: make(map[uint64]struct{}, cfg.Records)}
	n := cfg.Records + 8
	g.roll = &Roll{Seed: cfg.Seed, Records: make([]dedup.Record, 0, n), Truth: make([]string, 0, n), Labels: make([]Label, 0, n)}
	acc := 0.0
	for _, s := range surnames {
		acc += s.w
		g.surCum = append(g.surCum, acc)
	}
	g.geo = g.buildGeography(cfg.Records)
	g.shares()
	for len(g.roll.Records) < cfg.Records {
		g.emitPerson()
	}
	r := g.roll
	r.Records, r.Truth, r.Labels = r.Records[:cfg.Records], r.Truth[:cfg.Records], r.Labels[:cfg.Records]
	r.City = g.geo.city
	for _, c := range g.geo.counties {
		r.Counties = append(r.Counties, c.code)
	}
	r.Districts = slices.Clone(g.geo.districts)
	slices.SortFunc(r.Districts, func(a, b District) int { return strings.Compare(a.Code, b.Code) })
	return r
}

// employeeDup is the share of work units' employees registered at home too.
const employeeDup = 0.35

func (g *generator) shares() {
	var homes, units float64
	for _, d := range g.geo.districts {
		if d.Kind == KindWorkUnit {
			units += float64(d.size)
		} else {
			homes += float64(d.size)
		}
	}
	g.unitShare = units / (homes + units)
	g.dupRate = max(0, (g.cfg.DupRate-g.unitShare*employeeDup)/(1-g.unitShare))
}

func (g *generator) emitPerson() {
	p := g.newPerson()
	g.registerPerson(p)
	switch r := g.rng.Float64(); {
	case r < g.cfg.TwinRate:
		g.register(g.twin(p), p.home, RoleHome, false)
	case r < g.cfg.TwinRate+g.cfg.RelativeRate:
		g.register(g.relative(p), p.home, RoleHome, false)
	case r < g.cfg.TwinRate+g.cfg.RelativeRate+g.cfg.NamesakeRate:
		a := g.commonPerson()
		g.register(a, a.home, RoleHome, false)
		n := g.namesake(a)
		g.register(n, n.home, RoleHome, false)
	}
}

// registerPerson registers p at home or at a work unit, and perhaps a
// second (and third) time elsewhere.
func (g *generator) registerPerson(p *person) {
	if p.birth[0] >= 1958 && p.birth[0] <= 2000 && g.chance(g.unitShare*1.4) {
		u := g.pickUnit(g.unitCounty(p))
		if !g.chance(employeeDup) {
			g.register(p, u, RoleUnit, false)
			return
		}
		g.register(p, p.home, RoleHome, false)
		g.register(p, u, RoleWorkUnit, true)
		return
	}
	g.register(p, p.home, RoleHome, false)
	if !g.chance(g.dupRate) {
		return
	}
	role := RoleMigrant
	if g.chance(0.25) {
		role = RoleMoved
	}
	used := []int{p.home}
	for k := 0; k < 2; k++ {
		d := g.otherDistrict(p, role, used)
		used = append(used, d)
		if role == RoleMigrant && g.chance(0.6) {
			p2 := *p // works and lives there now
			p2.residence = g.addressIn(d)
			g.register(&p2, d, role, true)
		} else {
			g.register(p, d, role, true)
		}
		if !g.chance(0.1) {
			return
		}
	}
}

// unitCounty is where p works: mostly the home county.
func (g *generator) unitCounty(p *person) int {
	if g.chance(0.8) {
		return p.county
	}
	return g.neighbour(p.county)
}

// otherDistrict is a village or community of another town of the county or
// of the neighbouring county (migrants), or of the same county (moved).
func (g *generator) otherDistrict(p *person, role string, used []int) int {
	home := g.geo.districts[p.home]
	for tries := 0; ; tries++ {
		ci := p.county
		sameTown := g.chance(0.15)
		if role == RoleMigrant && !sameTown && g.chance(0.45) {
			ci = g.neighbour(p.county)
		}
		d := g.pickHome(ci)
		switch {
		case tries > 100: // no other home: any district not used
			d = g.pick(len(g.geo.districts))
		case tries > 50:
			d = g.pickHome(-1)
		}
		if slices.Contains(used, d) {
			continue
		}
		other := g.geo.districts[d]
		if tries < 20 && ci == p.county && (other.Town == home.Town) != sameTown {
			continue
		}
		return d
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
	p.home = g.pickHome(-1)
	p.county = g.geo.districts[p.home].county
	p.id = g.idNumber(g.birthRegion(p.county), p.birth, p.male)
	p.household = g.addressIn(p.home)
	p.residence = p.household
	if g.chance(0.25) {
		p.residence = g.addressIn(g.pickHome(p.county))
	} else if g.chance(0.1) {
		p.residence = g.address(g.pick(len(counties)))
	}
	if g.chance(0.85) {
		p.phone = g.phone()
	}
	return p
}

// birthRegion is the county code an ID was issued under: mostly the home
// county, sometimes another county of the roll or anywhere in China.
func (g *generator) birthRegion(ci int) string {
	switch x := g.rng.Float64(); {
	case x < 0.85:
		return g.geo.counties[ci].code
	case x < 0.93:
		return g.geo.counties[g.pick(len(g.geo.counties))].code
	}
	return counties[g.pick(len(counties))].code
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

func validDate(b [3]int) bool {
	return b[0] >= 1900 && b[1] >= 1 && b[1] <= 12 && b[2] >= 1 && b[2] <= daysIn(b[0], b[1])
}

// idNumber issues an ID not yet given to anybody (the sequence number is
// redrawn on a collision; the 500 per sex and day are never exhausted).
func (g *generator) idNumber(region string, b [3]int, male bool) string {
	var first17 string
	for {
		seq := g.pick(500) * 2
		if male {
			seq++
		}
		first17 = region + date8(b) + pad(seq, 3)
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

// addressIn is an address in district d: a house of a village's group, a
// street number in a community, a work unit's dormitory.
func (g *generator) addressIn(d int) string {
	dist := &g.geo.districts[d]
	c := &g.geo.counties[dist.county]
	prefix := c.full
	if dist.town >= 0 {
		prefix += c.towns[dist.town].name
	}
	switch dist.Kind {
	case KindVillage:
		return prefix + dist.Name + strconv.Itoa(1+g.pick(12)) + "组" + strconv.Itoa(1+g.pick(80)) + "号"
	case KindCommunity:
		return prefix + streets[g.pick(len(streets))] + strconv.Itoa(1+g.pick(300)) + "号"
	}
	return prefix + dist.Name + "宿舍" + strconv.Itoa(1+g.pick(8)) + "栋" + strconv.Itoa(101+g.pick(600)) + "室"
}

// address is an address in a county anywhere in China (from the areas table).
func (g *generator) address(county int) string {
	c := counties[county].name
	if g.chance(0.5) {
		return c + streets[g.pick(len(streets))] + strconv.Itoa(1+g.pick(300)) + "号"
	}
	v := villageNames[g.pick(len(villageNames))] + "村"
	return c + v + strconv.Itoa(1+g.pick(12)) + "组" + strconv.Itoa(1+g.pick(80)) + "号"
}

func (g *generator) phone() string {
	return "1" + string("35789"[g.pick(5)]) + pad(g.pick(1000000000), 9)
}

// twin shares surname, birth date, addresses and often the phone; the name
// is similar and the ID differs in the sequence number.
func (g *generator) twin(p *person) *person {
	t := *p
	g.entities++
	t.entity, t.male = g.entities, g.chance(0.5)
	t.relation, t.related = RelTwin, p.entity
	if p.minority { // twins are not given one name: another first part
		for t.given == p.given {
			t.given = uyghurNames[g.pick(len(uyghurNames))] + p.given[strings.Index(p.given, "·"):]
		}
	} else {
		t.given = g.twinName(p.given, t.male)
	}
	t.id = g.idNumber(p.id[:6], p.birth, t.male)
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
	r.household, r.residence, r.home, r.county = p.household, p.residence, p.home, p.county
	r.relation, r.related = RelRelative, p.entity
	if g.chance(0.7) && !p.minority {
		r.surname = p.surname
	}
	y := p.birth[0] + []int{-28, 26, 2}[g.pick(3)]
	if y > 2007 || y < 1925 {
		y = p.birth[0] - 2
	}
	r.birth = g.birthDate(y, y)
	r.id = g.idNumber(p.id[:6], r.birth, r.male)
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
	n.id = g.idNumber(g.birthRegion(n.county), n.birth, n.male)
	n.relation, n.related = RelNamesake, p.entity
	return n
}

// register appends a registration of p in district d; a duplicate carries
// realistic, independently drawn errors.
func (g *generator) register(p *person, d int, role string, dup bool) {
	recs := &g.roll.Records
	r := dedup.Record{
		ID: "R" + strconv.Itoa(len(*recs)+1), Ref: "P" + strconv.Itoa(p.entity), District: g.geo.districts[d].Code,
		Name: p.surname + p.given, Gender: gender(p.male), BirthDate: dateISO(p.birth),
		IDNumber: p.id, HouseholdAddress: p.household, ResidenceAddress: p.residence, Phone: p.phone,
	}
	g.tags = g.tags[:0]
	g.idNoise(&r, p, dup, role == RoleMigrant)
	g.nameNoise(&r, p, dup)
	g.birthNoise(&r, p, dup)
	g.otherNoise(&r, p, dup)
	g.badRow(&r)
	*recs = append(*recs, r)
	g.roll.Truth = append(g.roll.Truth, strconv.Itoa(p.entity))
	l := Label{Role: role, Relation: p.relation, Noise: strings.Join(g.tags, "+")}
	if p.relation != "" {
		l.Related = strconv.Itoa(p.related)
	}
	g.roll.Labels = append(g.roll.Labels, l)
}

func (g *generator) tag(t string) { g.tags = append(g.tags, t) }

func gender(male bool) string {
	if male {
		return "M"
	}
	return "F"
}

func dateISO(b [3]int) string { return pad(b[0], 4) + "-" + pad(b[1], 2) + "-" + pad(b[2], 2) }

// idNoise: any registration may lack its ID or carry a legacy or mistyped
// one; second registrations much more often, a migrant's up to a third
// without any ID. Then the way it was typed: full-width digits, a
// lower-case x, a stray space.
func (g *generator) idNoise(r *dedup.Record, p *person, dup, migrant bool) {
	blank, typo, swap, legacy, old := 0.025, 0.004, 0.002, 0.05, p.birth[0] < 1975
	format, space, lowerX := 0.004, 0.004, 0.15
	if dup {
		blank, typo, swap, legacy, old = 0.12, 0.09, 0.04, 0.08, p.birth[0] < 1985
		format, space, lowerX = 0.03, 0.03, 0.4
		if migrant {
			blank = 0.3
		}
	}
	switch x := g.rng.Float64(); {
	case x < blank:
		r.IDNumber = ""
		g.tag("no_id")
	case x < blank+typo:
		r.IDNumber = g.mistypeDigit(p.id)
		g.tag("id_typo")
	case x < blank+typo+swap:
		if id, ok := g.transpose(p.id); ok {
			r.IDNumber = id
			g.tag("id_swap")
		}
	case x < blank+typo+swap+legacy && old:
		r.IDNumber = legacy15(p.id)
		g.tag("id15")
	}
	if r.IDNumber == "" {
		return
	}
	if strings.HasSuffix(r.IDNumber, "X") && g.chance(lowerX) {
		r.IDNumber = strings.ToLower(r.IDNumber)
		g.tag("id_lower_x")
	}
	if g.chance(format) {
		r.IDNumber = fullWidth(r.IDNumber)
		g.tag("id_fullwidth")
	}
	if g.chance(space) {
		r.IDNumber = straySpace(r.IDNumber, g.pick(len(r.IDNumber)-1)+1)
		g.tag("id_space")
	}
}

func legacy15(id string) string { return id[:6] + id[8:17] }

// mistypeDigit changes one of the first 17 digits.
func (g *generator) mistypeDigit(id string) string {
	b := []byte(id)
	i := g.pick(17)
	for {
		c := byte('0' + g.pick(10))
		if c != b[i] {
			b[i] = c
			return string(b)
		}
	}
}

// transpose swaps two adjacent different digits.
func (g *generator) transpose(id string) (string, bool) {
	b := []byte(id)
	for tries := 0; tries < 20; tries++ {
		i := g.pick(17)
		if b[i] != b[i+1] && b[i+1] != 'X' {
			b[i], b[i+1] = b[i+1], b[i]
			return string(b), true
		}
	}
	return id, false
}

// straySpace puts a space before byte i of s (at a rune boundary).
func straySpace(s string, i int) string {
	for i > 0 && i < len(s) && s[i]&0xC0 == 0x80 {
		i--
	}
	if i <= 0 || i >= len(s) {
		return s
	}
	return s[:i] + " " + s[i:]
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

// nameNoise: homophones, dialect surname confusions, traditional
// characters, a wrong character, stray spaces; minority names with other
// separators.
func (g *generator) nameNoise(r *dedup.Record, p *person, dup bool) {
	if p.minority {
		if dup && g.chance(0.6) {
			seps := []string{"", "•", ".", " ", "・", "-"}
			r.Name = strings.ReplaceAll(p.given, "·", seps[g.pick(len(seps))])
			g.tag("separator")
		}
		return
	}
	homophone, surname, trad, wrong, space := 0.0, 0.003, 0.01, 0.0, 0.01
	if dup {
		homophone, surname, trad, wrong, space = 0.14, 0.05, 0.10, 0.02, 0.03
	}
	sur, given := p.surname, p.given
	if g.chance(homophone) {
		if h, ok := g.homophone([]rune(given)); ok {
			given = h
			g.tag("homophone")
		}
	}
	if alt, ok := surnameConfusions[sur]; ok && g.chance(surname) {
		sur = alt[g.pick(len(alt))]
		g.tag("surname")
	}
	r.Name = sur + given
	if g.chance(trad) {
		if t := toTraditional(r.Name); t != r.Name {
			r.Name = t
			g.tag("traditional")
		}
	}
	if g.chance(wrong) { // a wrong character altogether
		rs := []rune(r.Name)
		rs[len(rs)-1] = charsMale[g.pick(len(charsMale))]
		r.Name = string(rs)
		g.tag("wrong_char")
	}
	if g.chance(space) {
		i := len(string([]rune(r.Name)[:1]))
		if g.chance(0.3) && len([]rune(r.Name)) > 2 {
			i = len(string([]rune(r.Name)[:2]))
		}
		r.Name = r.Name[:i] + " " + r.Name[i:]
		g.tag("name_space")
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

// birthNoise: a lunar birthday written as a solar date, a blank, a typo,
// day and month swapped; on any row, rarely, a typed date that disagrees
// with a valid ID. Dates stay valid calendar dates.
func (g *generator) birthNoise(r *dedup.Record, p *person, dup bool) {
	lunarRate, blank, typo, swap := 0.0, 0.015, 0.005, 0.0
	if dup {
		lunarRate, blank, typo, swap = 0.07, 0.04, 0.02, 0.01
	}
	switch x := g.rng.Float64(); {
	case x < lunarRate:
		if ly, lm, ld, _, ok := lunar.FromSolar(p.birth[0], p.birth[1], p.birth[2]); ok && validDate([3]int{ly, lm, ld}) {
			r.BirthDate = dateISO([3]int{ly, lm, ld})
			g.tag("lunar")
		}
	case x < lunarRate+blank:
		if r.IDNumber != "" { // else the row could not be imported
			r.BirthDate = ""
			g.tag("no_birth")
		}
	case x < lunarRate+blank+typo:
		b := p.birth
		for tries := 0; tries < 10; tries++ {
			b = p.birth
			switch g.pick(3) {
			case 0:
				b[0] += []int{-10, -1, 1, 10}[g.pick(4)]
			case 1:
				b[1] = 1 + g.pick(12)
			default:
				b[2] += []int{-10, -1, 1, 10}[g.pick(4)]
			}
			if validDate(b) && b != p.birth {
				break
			}
		}
		if validDate(b) && b != p.birth {
			r.BirthDate = dateISO(b)
			g.tag("birth_typo")
		}
	case x < lunarRate+blank+typo+swap && p.birth[2] <= 12 && p.birth[1] != p.birth[2]:
		r.BirthDate = dateISO([3]int{p.birth[0], p.birth[2], p.birth[1]})
		g.tag("birth_swap")
	}
}

func (g *generator) otherNoise(r *dedup.Record, p *person, dup bool) {
	if g.chance(0.3) {
		r.ResidenceAddress = ""
	}
	noGender := 0.02
	if dup {
		noGender = 0.1
		if g.chance(0.5) {
			r.Phone = ""
			if g.chance(0.6) {
				r.Phone = g.phone()
			}
		}
		if g.chance(0.2) {
			r.HouseholdAddress = g.addressIn(g.pickHome(p.county))
		}
	}
	if g.chance(noGender) {
		r.Gender = ""
		g.tag("no_gender")
	}
}

// badRow makes a few rows nobody could repair (no name; neither ID nor
// birth date); no other row lacks both (birthNoise keeps the date).
func (g *generator) badRow(r *dedup.Record) {
	switch x := g.rng.Float64(); {
	case x < 0.001:
		r.Name = ""
		g.tag(NoiseNoName)
		return
	case x < 0.0025:
		r.IDNumber, r.BirthDate = "", ""
		g.tag(NoiseNoIDNoBirth)
	}
}
