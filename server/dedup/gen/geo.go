package gen

import (
	"slices"
	"strconv"
	"strings"
)

//go:generate go run ./mkdivisions -data ../../../../shared/data/divisions -out divisions.go

// cityRow and countyRow are the shapes of the generated cityTable.
type cityRow struct {
	code, name string
	counties   []countyRow
}

type countyRow struct{ code, name, towns string }

// District kinds, as model.DistrictKinds codes them.
const (
	KindVillage   = "village"
	KindCommunity = "community"
	KindWorkUnit  = "work_unit"
)

// District is an electoral district (选区) of a generated roll. Villages
// and communities carry their 12-digit statistical code (the town's nine
// digits and three of their own: communities 001-199, villages 200-399);
// work units, which have none, the town's code and a local number starting
// with 9, or the county's code and a four-digit local number.
type District struct {
	Code, Name, Kind string
	Town             string // the town's 9-digit code; "" for a county's own work unit
	county           int    // index in roll.counties
	town             int    // index in that county's towns; -1 for none
	size             int    // voters it is drawn for
}

// place is a county of the roll with its towns and districts.
type place struct {
	code, name, full string // full: province, city and county
	towns            []town
	homes            []int     // indexes of the county's villages and communities
	homeCum          []float64 // cumulative sizes of homes
	units            []int     // indexes of the county's work units
	unitCum          []float64
}

type town struct {
	code, name string
	homes      []int
	units      []int
	nextComm   int // next community number
	nextVill   int // next village number
	shortUnits int // work units numbered 91-94
	longUnits  int // work units numbered 950-999
	names      map[string]bool
}

// geography is the roll's counties and districts.
type geography struct {
	city      string
	counties  []place
	districts []District
	homeCum   []float64 // cumulative home sizes over all counties
	homes     []int
}

// countiesFor is how many neighbouring counties a roll of n registrations
// spans: one per 150,000 or so, sometimes one more.
func (g *generator) countiesFor(n int) int {
	k := max(1, (n+75000)/150000)
	if n >= 20000 && g.chance(0.5) {
		k++
	}
	return k
}

// buildGeography picks a real city and k neighbouring counties of it (next
// to each other in code order) and lays out districts for n registrations.
func (g *generator) buildGeography(n int) *geography {
	k := g.countiesFor(n)
	var fit []int
	for i, c := range cityTable {
		if len(c.counties) >= k {
			fit = append(fit, i)
		}
	}
	if len(fit) == 0 { // more counties than any city has: the largest city
		best := 0
		for i, c := range cityTable {
			if len(c.counties) > len(cityTable[best].counties) {
				best = i
			}
		}
		fit = []int{best}
	}
	city := cityTable[fit[g.pick(len(fit))]]
	k = min(k, len(city.counties))
	first := g.pick(len(city.counties) - k + 1)
	geo := &geography{city: city.code}
	for _, c := range city.counties[first : first+k] {
		geo.counties = append(geo.counties, place{code: c.code, name: c.name, full: city.name + c.name,
			towns: parseTowns(c.code, c.towns)})
	}
	per := (n + k - 1) / k
	for ci := range geo.counties {
		g.layCounty(geo, ci, per)
	}
	for ci := range geo.counties {
		p := &geo.counties[ci]
		p.homeCum = g.cumulative(geo, p.homes)
		p.unitCum = g.cumulative(geo, p.units)
		geo.homes = append(geo.homes, p.homes...)
	}
	geo.homeCum = g.cumulative(geo, geo.homes)
	return geo
}

func parseTowns(county, s string) []town {
	var out []town
	for _, f := range strings.Fields(s) {
		out = append(out, town{code: county + f[:3], name: f[3:], nextComm: 1, nextVill: 200,
			names: map[string]bool{}})
	}
	return out
}

func (g *generator) cumulative(geo *geography, idx []int) []float64 {
	out := make([]float64, len(idx))
	acc := 0.0
	for i, d := range idx {
		acc += float64(geo.districts[d].size)
		out[i] = acc
	}
	return out
}

// layCounty adds districts to a county's towns, in a random order of the
// towns, until they are drawn for per voters; then its work units.
func (g *generator) layCounty(geo *geography, ci, per int) {
	p := &geo.counties[ci]
	order := g.rng.Perm(len(p.towns))
	total := 0
	enough := func() bool { return total >= per && len(p.homes) >= 2 }
	for pass := 0; !enough() && pass < 20; pass++ {
		for _, ti := range order {
			if enough() {
				break
			}
			want := 6 + g.pick(15)
			if pass > 0 {
				want = 1 + g.pick(4)
			}
			for j := 0; j < want && !enough(); j++ {
				d, ok := g.homeDistrict(geo, ci, ti, per-total)
				if !ok {
					break
				}
				total += geo.districts[d].size
			}
		}
	}
	// Work units: some towns' schools, clinics and offices, and the county's
	// own institutions; together 3-6% of the voters, at least one.
	target := int(float64(total) * (0.03 + 0.03*g.rng.Float64()))
	units := 0
	for _, ti := range order {
		if units >= target {
			break
		}
		if len(p.towns[ti].homes) > 0 && g.chance(0.4) {
			units += g.workUnit(geo, ci, ti, total)
		}
	}
	for j := 0; (units < target || j == 0) && j < 60; j++ {
		units += g.workUnit(geo, ci, -1, total)
	}
}

// homeDistrict adds a village or community to town ti.
func (g *generator) homeDistrict(geo *geography, ci, ti, left int) (int, bool) {
	p := &geo.counties[ci]
	t := &p.towns[ti]
	community := strings.HasSuffix(t.name, "街道") && g.chance(0.92) ||
		strings.HasSuffix(t.name, "镇") && g.chance(0.12) || g.chance(0.02)
	var d District
	if community {
		if t.nextComm > 199 {
			return 0, false
		}
		d = District{Code: t.code + pad(t.nextComm, 3), Kind: KindCommunity, size: 500 + int(2000*g.skew())}
		d.Name = g.uniqueName(t, func() string { return g.communityName(t) })
		t.nextComm += 1 + g.pick(2)
	} else {
		if t.nextVill > 399 {
			return 0, false
		}
		d = District{Code: t.code + pad(t.nextVill, 3), Kind: KindVillage, size: 250 + int(1750*g.skew())}
		d.Name = g.uniqueName(t, g.villageName)
		t.nextVill += 1 + g.pick(3)
	}
	d.size = min(d.size, max(left, 150))
	d.Town, d.county, d.town = t.code, ci, ti
	geo.districts = append(geo.districts, d)
	i := len(geo.districts) - 1
	t.homes = append(t.homes, i)
	p.homes = append(p.homes, i)
	return i, true
}

// skew is in [0,1) with most values small.
func (g *generator) skew() float64 {
	u := g.rng.Float64()
	return u * u
}

// workUnit adds a work unit to town ti, or to the county itself (ti < 0),
// and returns its size.
func (g *generator) workUnit(geo *geography, ci, ti, voters int) int {
	p := &geo.counties[ci]
	d := District{Kind: KindWorkUnit, county: ci, town: ti, size: min(60+int(700*g.skew()), voters/40+20)}
	if ti >= 0 {
		// The town's code, then 91-94 (11 digits) or 950-999 (12 digits):
		// no code is the beginning of another.
		t := &p.towns[ti]
		switch {
		case t.shortUnits < 4 && g.chance(0.5):
			t.shortUnits++
			d.Code = t.code + "9" + strconv.Itoa(t.shortUnits)
		case t.longUnits < 50:
			d.Code = t.code + strconv.Itoa(950+t.longUnits)
			t.longUnits++
		default:
			return 0
		}
		d.Town = t.code
		d.Name = g.uniqueName(t, func() string { return shortTown(t.name) + townUnits[g.pick(len(townUnits))] })
		t.units = append(t.units, len(geo.districts))
	} else {
		d.Code = p.code + strconv.Itoa(9001+len(p.units))
		d.Name = p.name + countyUnits[len(p.units)%len(countyUnits)]
		if len(p.units) >= len(countyUnits) {
			d.Name += "第" + strconv.Itoa(1+len(p.units)/len(countyUnits)) + "分部"
		}
	}
	geo.districts = append(geo.districts, d)
	p.units = append(p.units, len(geo.districts)-1)
	return d.size
}

func (g *generator) uniqueName(t *town, make func() string) string {
	for i := 0; ; i++ {
		n := make()
		if i > 30 {
			n += strconv.Itoa(i)
		}
		if !t.names[n] {
			t.names[n] = true
			return n
		}
	}
}

func (g *generator) villageName() string {
	if g.chance(0.2) {
		return collectiveNames[g.pick(len(collectiveNames))] + "村"
	}
	return placeFirst[g.pick(len(placeFirst))] + placeSecond[g.pick(len(placeSecond))] + "村"
}

func (g *generator) communityName(t *town) string {
	if !strings.HasSuffix(t.name, "街道") && g.chance(0.5) {
		return shortTown(t.name) + "社区"
	}
	return communityNames[g.pick(len(communityNames))] + "社区"
}

// shortTown drops a town's 街道, 镇 or 乡.
func shortTown(name string) string {
	for _, s := range []string{"街道", "镇", "乡"} {
		if n := strings.TrimSuffix(name, s); n != name && n != "" {
			return n
		}
	}
	return name
}

// pickHome draws a village or community of county ci (any county if ci <
// 0), weighted by size.
func (g *generator) pickHome(ci int) int {
	if ci < 0 {
		return g.geo.homes[g.weighted(g.geo.homeCum)]
	}
	p := &g.geo.counties[ci]
	return p.homes[g.weighted(p.homeCum)]
}

// pickUnit draws a work unit of county ci, weighted by size.
func (g *generator) pickUnit(ci int) int {
	p := &g.geo.counties[ci]
	return p.units[g.weighted(p.unitCum)]
}

func (g *generator) weighted(cum []float64) int {
	x := g.rng.Float64() * cum[len(cum)-1]
	i, _ := slices.BinarySearch(cum, x)
	return min(i, len(cum)-1)
}

// neighbour is a county of the roll next to ci (ci itself if the roll has
// one).
func (g *generator) neighbour(ci int) int {
	n := len(g.geo.counties)
	switch {
	case n == 1:
		return ci
	case ci == 0:
		return 1
	case ci == n-1 || g.chance(0.5):
		return ci - 1
	}
	return ci + 1
}
