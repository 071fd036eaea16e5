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
// caller's districts. Counting decodes every open item, so a count is kept
// for its scope while the feed has not moved, no decision was taken
// through the console, and for at most countTTL: a decision taken through
// the API that writes no change (a conflict kept as it was, a duplicate
// case decided without removal) shows here within countTTL.
func (c *Console) queueCounts(q *request) (conflicts, cases int, err error) {
	key := strings.Join(q.user.Scope(), ",")
	if q.user.Role == store.RoleAdmin {
		key = "*"
	}
	err = c.cfg.Store.View(q.r.Context(), func(tx store.Tx) error {
		seq, err := tx.HighSeq()
		if err != nil {
			return err
		}
		c.mu.Lock()
		n, ok := c.counts[key]
		gen := c.decisions
		c.mu.Unlock()
		if ok && n.seq == seq && n.gen == gen && time.Since(n.at) < countTTL {
			conflicts, cases = n.conflicts, n.cases
			return nil
		}
		cs, err := tx.Conflicts(store.ConflictQuery{Districts: q.user.Scope(), Status: dsync.ConflictOpen})
		if err != nil {
			return err
		}
		dcs, err := tx.DupCases(store.DupCaseQuery{Districts: q.user.Scope(), Status: store.DupOpen})
		conflicts, cases = len(cs), len(dcs)
		c.mu.Lock()
		if len(c.counts) > 1000 {
			clear(c.counts)
		}
		c.counts[key] = queueCount{conflicts: conflicts, cases: cases, seq: seq, gen: gen, at: time.Now()}
		c.mu.Unlock()
		return err
	})
	return conflicts, cases, err
}

// countTTL is how long a queue count is kept at most.
const countTTL = 10 * time.Second

// queueCount is a scope's open conflicts and cases, as of a feed sequence
// and a number of console decisions.
type queueCount struct {
	conflicts, cases int
	seq              uint64
	gen              int
	at               time.Time
}

// decided notes a decision taken through the console: counts are stale.
func (c *Console) decided() {
	c.mu.Lock()
	c.decisions++
	c.mu.Unlock()
}
