package console

import (
	"html/template"
	"strings"
	"time"

	"github.com/dengji/dengji/server/roll"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

type overviewPage struct {
	Total     roll.Unit
	Counties  []roll.Unit
	Towns     []roll.Unit
	Districts []roll.Unit
	Conflicts int // open, in scope
	Cases     int // open duplicate cases touching the scope
	PerDay    template.HTML
	Counting  bool   // the first count is under way: no figures yet
	Area      string // the ?area= whose districts are listed
	Hidden    int    // districts not listed: too many for one page
}

// maxDistrictRows is the most district rows the overview lists; more are
// listed per town (?area=).
const maxDistrictRows = 200

// overview shows the scope's figures: registered voters per district,
// rolled up to towns and counties (roll.Tally, kept up to date from the
// feed rather than counted at each request), additions and removals by
// reason, the four categories, migrants contacted, the open queues, and
// registrations per day.
func (c *Console) overview(q *request) {
	if !c.tally.Ready() { // the first count (every record) is under way
		p := overviewPage{Counting: true}
		var err error
		if p.Conflicts, p.Cases, err = c.queueCounts(q); err != nil {
			c.failWith(q, err)
			return
		}
		c.render(q, 200, "overview", "overview", "总览 / Overview", p)
		return
	}
	if err := c.tally.Refresh(q.r.Context(), c.cfg.Store); err != nil {
		c.failWith(q, err)
		return
	}
	in := q.user.InScope
	if q.user.Role == store.RoleAdmin {
		in = nil
	}
	st := c.tally.Stats(in)
	area := q.r.URL.Query().Get("area")
	p := overviewPage{PerDay: perDayChart(c.tally.PerDay(in), q.en), Area: area}
	for _, u := range st.Units {
		switch u.Level {
		case roll.LevelDistrict:
			if strings.HasPrefix(u.Code, area) {
				p.Districts = append(p.Districts, u)
			}
		case roll.LevelTown:
			p.Towns = append(p.Towns, u)
		case roll.LevelCounty:
			p.Counties = append(p.Counties, u)
		case roll.LevelTotal:
			p.Total = u
		}
	}
	if len(p.Districts) > maxDistrictRows { // a county's thousand villages: per town, a click away
		p.Hidden, p.Districts = len(p.Districts), nil
	}
	var err error
	if p.Conflicts, p.Cases, err = c.queueCounts(q); err != nil {
		c.failWith(q, err)
		return
	}
	c.render(q, 200, "overview", "overview", "总览 / Overview", p)
}

// queueCounts counts the open conflicts and duplicate cases in the
// caller's districts. Counting decodes every open item, so a scope's count
// is kept for countTTL, or until a decision is taken through the console:
// a conflict a push raised, or a decision taken through the API, shows in
// the count within countTTL (the queues themselves are always current).
func (c *Console) queueCounts(q *request) (conflicts, cases int, err error) {
	key := strings.Join(q.user.Scope(), ",")
	if q.user.Role == store.RoleAdmin {
		key = "*"
	}
	c.mu.Lock()
	n, ok := c.counts[key]
	gen := c.decisions
	c.mu.Unlock()
	if ok && n.gen == gen && time.Since(n.at) < countTTL {
		return n.conflicts, n.cases, nil
	}
	err = c.cfg.Store.View(q.r.Context(), func(tx store.Tx) error {
		cs, err := tx.Conflicts(store.ConflictQuery{Districts: q.user.Scope(), Status: dsync.ConflictOpen})
		if err != nil {
			return err
		}
		dcs, err := tx.DupCases(store.DupCaseQuery{Districts: q.user.Scope(), Status: store.DupOpen})
		conflicts, cases = len(cs), len(dcs)
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	c.mu.Lock()
	if len(c.counts) > 1000 {
		clear(c.counts)
	}
	c.counts[key] = queueCount{conflicts: conflicts, cases: cases, gen: gen, at: time.Now()}
	c.mu.Unlock()
	return conflicts, cases, nil
}

// countTTL is how long a queue count is kept at most.
const countTTL = 10 * time.Second

// queueCount is a scope's open conflicts and cases, as of a number of
// console decisions and a time.
type queueCount struct {
	conflicts, cases int
	gen              int
	at               time.Time
}

// decided notes a decision taken through the console: counts are stale.
func (c *Console) decided() {
	c.mu.Lock()
	c.decisions++
	c.mu.Unlock()
}
