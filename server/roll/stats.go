package roll

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// Counts are the figures reported up the chain for one unit. Deleted
// records are not counted. A registration counts once in Registered (with
// Men or Women), in Removed or, when it is in one of the four categories,
// in Categories; additions and channels count every living registration
// that says so.
type Counts struct {
	Registered int `json:"registered"` // registered voters: not removed, none of the four categories
	// NeedsVerification counts the living registrations (registered or in
	// the four categories, not removed) whose identity is not verified
	// (待核实: ID number missing or doubtful): the verification list.
	NeedsVerification int            `json:"needs_verification"`
	Men               int            `json:"men"`
	Women             int            `json:"women"`
	Removed           int            `json:"removed"`
	Additions         map[string]int `json:"additions"`  // by model.AdditionReasons code
	Removals          map[string]int `json:"removals"`   // by model.RemovalReasons code
	Categories        map[string]int `json:"categories"` // 四种人, by model.Categories code
	Channels          map[string]int `json:"channels"`   // by model.RegistrationChannels code
	Contacts          int            `json:"contacts"`   // migrant-contact records
	ContactOutcomes   map[string]int `json:"contact_outcomes"`
	ContactEvidence   map[string]int `json:"contact_evidence"`
	// Population is the voting-age population imported with the districts
	// (summed over those that state one); populated counts the Registered
	// of those districts, the numerator of the registration rate.
	Population int `json:"population,omitempty"`
	populated  int
}

func newCounts() Counts {
	return Counts{Additions: map[string]int{}, Removals: map[string]int{}, Categories: map[string]int{},
		Channels: map[string]int{}, ContactOutcomes: map[string]int{}, ContactEvidence: map[string]int{}}
}

// Add adds o's figures to c.
func (c *Counts) Add(o *Counts) {
	c.Registered += o.Registered
	c.NeedsVerification += o.NeedsVerification
	c.Men += o.Men
	c.Women += o.Women
	c.Removed += o.Removed
	c.Contacts += o.Contacts
	c.Population += o.Population
	c.populated += o.populated
	for _, p := range [][2]map[string]int{{c.Additions, o.Additions}, {c.Removals, o.Removals},
		{c.Categories, o.Categories}, {c.Channels, o.Channels},
		{c.ContactOutcomes, o.ContactOutcomes}, {c.ContactEvidence, o.ContactEvidence}} {
		for k, v := range p[1] {
			p[0][k] += v
		}
	}
}

// addRecord counts rec, and reports whether it is a registration whose
// identity is not verified (removed or not).
func (c *Counts) addRecord(rec *dsync.Record) (unverified bool) {
	j := judge(rec)
	return c.count(&j)
}

// judged is what the figures need of one record: read from it by judge
// (the costly part, decoding and validating its fields), counted by count,
// so that a count of every record can judge them on every core.
type judged struct {
	id, district, day string // day: a registration's firstWritten
	deleted           bool
	reg               *model.Registration // a readable registration, else nil
	unverified        bool                // reg's identity is not verified
	contact           *model.MigrantContact
}

func judge(rec *dsync.Record) judged {
	j := judged{id: rec.ID, district: rec.District, deleted: rec.Deleted()}
	if j.deleted {
		return j // counted nowhere
	}
	switch rec.Type {
	case model.TypeRegistration:
		j.day = firstWritten(rec)
		if r, err := model.RegistrationFromFields(rec.Values()); err == nil {
			j.reg = &r
			j.unverified = model.ValidateSeq(rec.Type, rec.District, rec.All(), model.Rules{}).NeedsVerification()
		}
	case model.TypeMigrantContact:
		if m, err := model.MigrantContactFromFields(rec.Values()); err == nil {
			j.contact = &m
		}
	}
	return j
}

// count counts a judged record, and reports whether it is a registration
// whose identity is not verified (removed or not).
func (c *Counts) count(j *judged) (unverified bool) {
	switch {
	case j.reg != nil:
		c.addRegistration(j.reg, j.unverified)
		return j.unverified
	case j.contact != nil:
		c.Contacts++
		bump(c.ContactOutcomes, j.contact.Outcome)
		bump(c.ContactEvidence, j.contact.Evidence)
	}
	return false
}

func (c *Counts) addRegistration(r *model.Registration, unverified bool) {
	switch {
	case r.Status == "removed":
		c.Removed++
		bump(c.Removals, r.RemovalReason)
	case r.Category != "":
		bump(c.Categories, r.Category)
		if unverified {
			c.NeedsVerification++
		}
	default:
		c.Registered++
		if unverified {
			c.NeedsVerification++
		}
		switch r.Gender {
		case "M":
			c.Men++
		case "F":
			c.Women++
		}
	}
	bump(c.Additions, r.AdditionReason)
	bump(c.Channels, r.Channel)
}

func bump(m map[string]int, code string) {
	if code != "" {
		m[code]++
	}
}

// Unit levels.
const (
	LevelDistrict = "district"
	LevelTown     = "town"
	LevelCounty   = "county"
	LevelTotal    = "total"
)

// Unit is one line of the statistics: a district, or a town or county
// rolled up from its districts, or the total.
type Unit struct {
	Level  string `json:"level"`
	Code   string `json:"code"`
	Name   string `json:"name,omitempty"`
	Parent string `json:"parent,omitempty"` // a district's town, a town's county
	Counts
	// RegistrationRate is Registered over Population, over the districts
	// that state a population; absent where none does.
	RegistrationRate float64 `json:"registration_rate,omitempty"`
	// Duplicates counts the duplicate check's cases with a member in the
	// unit, each once however many of its districts the unit holds.
	Duplicates DupCounts `json:"duplicates"`
}

// DupCounts are a unit's duplicate cases by where they stand: found is
// every case, resolved those a person decided (confirmed or rejected).
type DupCounts struct {
	Found     int `json:"found"`
	Open      int `json:"open"`
	Confirmed int `json:"confirmed"`
	Rejected  int `json:"rejected"`
}

func (d *DupCounts) add(s store.DupStatus) {
	d.Found++
	switch s {
	case store.DupOpen:
		d.Open++
	case store.DupConfirmed:
		d.Confirmed++
	case store.DupRejected:
		d.Rejected++
	}
}

// Resolved is the cases a person decided.
func (d DupCounts) Resolved() int { return d.Confirmed + d.Rejected }

// Stats are the districts, then the towns, then the counties, then the
// total, each sorted by code.
type Stats struct {
	Units []Unit `json:"units"`
}

// ComputeStats counts the records of the districts inScope accepts (nil:
// all) and rolls them up to towns and counties: a district's town and
// county are what the districts table says, else what its code says
// (model.TownOf, model.CountyOf). Towns and counties sum only the districts
// in scope.
func ComputeStats(ctx context.Context, st store.Store, inScope func(district string) bool) (*Stats, error) {
	if inScope == nil {
		inScope = func(string) bool { return true }
	}
	per := map[string]*Unit{}
	counties := map[string]string{} // district -> county
	var cases []store.DupCase
	err := st.View(ctx, func(tx store.Tx) error {
		ds, err := tx.Districts()
		if err != nil {
			return err
		}
		for _, d := range ds {
			if inScope(d.Code) {
				per[d.Code] = &Unit{Level: LevelDistrict, Code: d.Code, Name: d.Name, Parent: d.Town, Counts: newCounts()}
				per[d.Code].Population = d.Population
			}
			counties[d.Code] = d.County
		}
		if cases, err = tx.DupCases(store.DupCaseQuery{}); err != nil {
			return err
		}
		return tx.ForEachRecord("", func(rec *dsync.Record) error {
			if rec.Deleted() || !inScope(rec.District) {
				return nil
			}
			u := per[rec.District]
			if u == nil { // records of a district never imported
				u = &Unit{Level: LevelDistrict, Code: rec.District, Counts: newCounts()}
				per[rec.District] = u
			}
			u.addRecord(rec)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	for code, u := range per {
		counties[code] = placed(u, counties[code])
		if u.Population > 0 {
			u.populated = u.Registered
		}
	}
	stats := rollUp(per, counties)
	stats.countDuplicates(cases, per, counties)
	for i := range stats.Units {
		if u := &stats.Units[i]; u.Population > 0 {
			u.RegistrationRate = math.Round(float64(u.populated)/float64(u.Population)*10000) / 10000
		}
	}
	return stats, nil
}

// countDuplicates counts each case once in every unit holding one of its
// members' districts in scope.
func (s *Stats) countDuplicates(cases []store.DupCase, per map[string]*Unit, counties map[string]string) {
	at := map[[2]string]int{}
	for i, u := range s.Units {
		at[[2]string{u.Level, u.Code}] = i
	}
	for _, c := range cases {
		units := map[int]bool{}
		for _, m := range c.Members {
			d := per[m.District]
			if d == nil {
				continue // out of scope
			}
			for _, k := range [][2]string{{LevelDistrict, d.Code}, {LevelTown, d.Parent},
				{LevelCounty, counties[d.Code]}, {LevelTotal, ""}} {
				if i, ok := at[k]; ok {
					units[i] = true
				}
			}
		}
		for i := range units {
			s.Units[i].Duplicates.add(c.Status)
		}
	}
}

// placed fills in a district's town where the districts table left it
// out, and returns its county (county, else its code's), from its code.
func placed(u *Unit, county string) string {
	if u.Parent == "" {
		u.Parent = model.TownOf(u.Code)
	}
	if county == "" {
		county = model.CountyOf(u.Code)
	}
	return county
}

// rollUp sums districts into towns, towns' districts into counties, and
// everything into the total.
func rollUp(per map[string]*Unit, counties map[string]string) *Stats {
	towns, cnty := map[string]*Unit{}, map[string]*Unit{}
	total := Unit{Level: LevelTotal, Counts: newCounts()}
	var out []Unit
	for _, code := range sortedKeys(per) {
		d := per[code]
		out = append(out, *d)
		total.Add(&d.Counts)
		if d.Parent != "" {
			t := unitOf(towns, LevelTown, d.Parent)
			t.Parent = counties[code]
			t.Add(&d.Counts)
		}
		if c := counties[code]; c != "" {
			unitOf(cnty, LevelCounty, c).Add(&d.Counts)
		}
	}
	for _, m := range []map[string]*Unit{towns, cnty} {
		for _, code := range sortedKeys(m) {
			out = append(out, *m[code])
		}
	}
	return &Stats{Units: append(out, total)}
}

func unitOf(m map[string]*Unit, level, code string) *Unit {
	u := m[code]
	if u == nil {
		u = &Unit{Level: level, Code: code, Counts: newCounts()}
		m[code] = u
	}
	return u
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// WriteJSON writes the statistics as JSON.
func (s *Stats) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// statColumn is one figure of the CSV form.
type statColumn struct {
	zh, en string
	get    func(*Counts) int
}

func statColumns() []statColumn {
	cols := []statColumn{
		{"登记选民", "Registered", func(c *Counts) int { return c.Registered }},
		{"待核实", "Needs verification", func(c *Counts) int { return c.NeedsVerification }},
		{"男", "Men", func(c *Counts) int { return c.Men }},
		{"女", "Women", func(c *Counts) int { return c.Women }},
		{"除名", "Removed", func(c *Counts) int { return c.Removed }},
	}
	add := func(prefixZh, prefixEn string, e model.Enum, m func(*Counts) map[string]int) {
		for _, v := range e.Values {
			code := v.Code
			cols = append(cols, statColumn{prefixZh + v.Zh, prefixEn + v.En,
				func(c *Counts) int { return m(c)[code] }})
		}
	}
	add("增加-", "Added: ", model.AdditionReasons, func(c *Counts) map[string]int { return c.Additions })
	add("减少-", "Removed: ", model.RemovalReasons, func(c *Counts) map[string]int { return c.Removals })
	add("四种人-", "Category: ", model.Categories, func(c *Counts) map[string]int { return c.Categories })
	add("登记方式-", "Channel: ", model.RegistrationChannels, func(c *Counts) map[string]int { return c.Channels })
	cols = append(cols, statColumn{"外出人员联系", "Migrant contacts", func(c *Counts) int { return c.Contacts }})
	add("联系结果-", "Outcome: ", model.ContactOutcomes, func(c *Counts) map[string]int { return c.ContactOutcomes })
	add("联系凭据-", "Evidence: ", model.Evidences, func(c *Counts) map[string]int { return c.ContactEvidence })
	cols = append(cols, statColumn{"人口（18岁以上）", "Population (of voting age)", func(c *Counts) int { return c.Population }})
	return cols
}

var levelZh = map[string]string{LevelDistrict: "选区", LevelTown: "乡镇", LevelCounty: "县", LevelTotal: "合计"}

// WriteCSV writes one line per unit, UTF-8 with a byte-order mark.
func (s *Stats) WriteCSV(w io.Writer, english bool) error {
	cols := statColumns()
	header := []string{"级别", "代码", "名称", "上级"}
	if english {
		header = []string{"Level", "Code", "Name", "Parent"}
	}
	for _, c := range cols {
		if english {
			header = append(header, c.en)
		} else {
			header = append(header, c.zh)
		}
	}
	if english {
		header = append(header, "Registration rate", "Duplicates found", "Duplicates resolved", "Duplicates open")
	} else {
		header = append(header, "登记率", "发现疑似重复", "已处理重复", "待处理重复")
	}
	if _, err := w.Write(bomUTF8); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Write(header)
	for i := range s.Units {
		u := &s.Units[i]
		level := u.Level
		if !english {
			level = levelZh[level]
		}
		row := []string{level, u.Code, defuseFormula(u.Name), u.Parent}
		for _, c := range cols {
			row = append(row, strconv.Itoa(c.get(&u.Counts)))
		}
		rate := ""
		if u.Population > 0 {
			rate = strconv.FormatFloat(100*u.RegistrationRate, 'f', 2, 64) + "%"
		}
		row = append(row, rate, strconv.Itoa(u.Duplicates.Found), strconv.Itoa(u.Duplicates.Resolved()),
			strconv.Itoa(u.Duplicates.Open))
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}
