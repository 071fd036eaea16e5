package console

import (
	"html/template"

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
	Counting  bool // the first count is still under way
}

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
	p := overviewPage{PerDay: perDayChart(c.tally.PerDay(in), q.en)}
	for _, u := range st.Units {
		switch u.Level {
		case roll.LevelDistrict:
			p.Districts = append(p.Districts, u)
		case roll.LevelTown:
			p.Towns = append(p.Towns, u)
		case roll.LevelCounty:
			p.Counties = append(p.Counties, u)
		case roll.LevelTotal:
			p.Total = u
		}
	}
	var err error
	if p.Conflicts, p.Cases, err = c.queueCounts(q); err != nil {
		c.failWith(q, err)
		return
	}
	c.render(q, 200, "overview", "overview", "总览 / Overview", p)
}

// queueCounts counts the open conflicts and duplicate cases in the
// caller's districts.
func (c *Console) queueCounts(q *request) (conflicts, cases int, err error) {
	err = c.cfg.Store.View(q.r.Context(), func(tx store.Tx) error {
		cs, err := tx.Conflicts(store.ConflictQuery{Districts: q.user.Scope(), Status: dsync.ConflictOpen})
		if err != nil {
			return err
		}
		dcs, err := tx.DupCases(store.DupCaseQuery{Districts: q.user.Scope(), Status: store.DupOpen})
		conflicts, cases = len(cs), len(dcs)
		return err
	})
	return conflicts, cases, err
}
