package console

import (
	"encoding/json"
	"net/url"

	"github.com/dengji/dengji/model"

	"github.com/dengji/dengji/server/api"
	"github.com/dengji/dengji/server/dedup"
	"github.com/dengji/dengji/server/dedupjob"
	"github.com/dengji/dengji/server/store"
)

type duplicatesPage struct {
	Query listQuery
	Rows  []dedupjob.CaseView
	Next  string
}

// duplicates lists the cases touching the caller's districts, as the API's
// GET /v1/duplicates does (dedupjob.ShowCase: a member elsewhere by its
// district only).
func (c *Console) duplicates(q *request) {
	lq, err := c.query(q, string(store.DupOpen), string(store.DupConfirmed), string(store.DupRejected))
	if err != nil {
		c.failWith(q, err)
		return
	}
	p := duplicatesPage{Query: lq}
	err = c.cfg.Store.View(q.r.Context(), func(tx store.Tx) error {
		cases, err := tx.DupCases(store.DupCaseQuery{Districts: lq.Districts, Status: store.DupStatus(lq.Status),
			After: lq.After, Limit: pageSize + 1})
		if err != nil {
			return err
		}
		if len(cases) > pageSize {
			cases = cases[:pageSize]
			p.Next = lq.next("/console/duplicates", cases[pageSize-1].ID)
		}
		for i := range cases {
			v, err := dedupjob.ShowCase(tx, q.user, &cases[i])
			if err != nil {
				return err
			}
			p.Rows = append(p.Rows, v)
		}
		return nil
	})
	if err != nil {
		c.failWith(q, err)
		return
	}
	c.render(q, 200, "duplicates", "duplicates", "疑似重复 / Duplicates", p)
}

// compareRow is one field of a case's members side by side, marked when
// every member that shows it agrees.
type compareRow struct {
	Field  string
	Values []string
	Agree  bool
}

// linkChart is one scored link of a case with its waterfall chart.
type linkChart struct {
	A, B     string
	Decision string
	Evidence *dedup.Evidence // nil: a link to a member outside the caller's districts
	Chart    any             // template.HTML of the SVG
}

type duplicatePage struct {
	Case    dedupjob.CaseView
	Compare []compareRow
	Links   []linkChart
	Names   map[string]string // record -> name, of the members the caller sees
}

var compareFields = []string{"name", "gender", "birth_date", "id_number", "household_address", "residence_address",
	"phone", "voter_group", "status"}

func (c *Console) duplicate(q *request) {
	var p duplicatePage
	err := c.cfg.Store.View(q.r.Context(), func(tx store.Tx) error {
		dc, err := tx.DupCase(q.r.PathValue("id"))
		if err != nil {
			return err
		}
		if err := dedupjob.AllowReviewer(q.user, nil)(dc); err != nil {
			return err // no member in the caller's districts: not found
		}
		p.Case, err = dedupjob.ShowCase(tx, q.user, dc)
		return err
	})
	if err != nil {
		c.failWith(q, err)
		return
	}
	p.Compare, p.Names = compareMembers(&p.Case, q.en)
	p.Links = charts(&p.Case, p.Names, q.en)
	c.render(q, 200, "duplicate", "duplicates", "疑似重复 / Duplicate case", p)
}

// compareMembers lays the members' fields side by side.
func compareMembers(cv *dedupjob.CaseView, en bool) ([]compareRow, map[string]string) {
	names := map[string]string{}
	var rows []compareRow
	district := compareRow{Field: fieldLabel("district", en)}
	for _, m := range cv.Members {
		district.Values = append(district.Values, m.District)
	}
	for _, f := range compareFields {
		row := compareRow{Field: fieldLabel(f, en), Agree: true}
		first, seen := "", 0
		for _, m := range cv.Members {
			v := ""
			if m.Registration != nil {
				v = registrationField(m.Registration.Fields(), f, en)
				seen++
				if seen == 1 {
					first = v
				} else if v != first {
					row.Agree = false
				}
			}
			row.Values = append(row.Values, v)
		}
		row.Agree = row.Agree && seen > 1 && first != ""
		rows = append(rows, row)
	}
	for _, m := range cv.Members {
		if m.Registration != nil {
			names[m.Record] = m.Registration.Name
		}
	}
	return append([]compareRow{district}, rows...), names
}

// registrationField is a field as a person reads it: an enum's label.
func registrationField(fields map[string]json.RawMessage, f string, en bool) string {
	v := showValue(fields[f])
	if e, ok := enumOf[f]; ok && v != "" {
		if zh, english, ok := e.Label(v); ok {
			return pick(en, zh, english)
		}
	}
	return v
}

var enumOf = map[string]model.Enum{"gender": model.Genders, "status": model.Statuses}

// charts reads the case's stored evidence (dedup.Link as JSON) and draws
// each link's match-weight waterfall.
func charts(cv *dedupjob.CaseView, names map[string]string, en bool) []linkChart {
	var links []dedupjob.EvidenceLink
	if json.Unmarshal(cv.Evidence, &links) != nil {
		return nil
	}
	out := make([]linkChart, 0, len(links))
	for _, l := range links {
		lc := linkChart{A: l.A, B: l.B}
		json.Unmarshal(l.Decision, &lc.Decision)
		if len(l.Evidence) > 0 {
			var ev dedup.Evidence
			if json.Unmarshal(l.Evidence, &ev) == nil {
				lc.Evidence = &ev
				lc.Chart = waterfall(&ev, en)
			}
		}
		out = append(out, lc)
	}
	return out
}

// decide records a coordinator's decision through dedupjob.Decide, the
// API's own: every member's district must be the caller's.
func (c *Console) decide(q *request) {
	res, err := dedupjob.Decide(q.r.Context(), c.cfg.Store, dedupjob.Decision{Case: q.r.PathValue("id"),
		Status: store.DupStatus(q.r.PostFormValue("decision")), Keep: q.r.PostFormValue("keep"), By: q.user.Name,
		Remove: q.r.PostFormValue("remove") == "1", Validate: c.cfg.Validator,
		Allow: dedupjob.AllowReviewer(q.user, api.ErrOutOfScope)})
	if err != nil {
		c.failWith(q, err)
		return
	}
	c.done(q, "/console/duplicates/"+url.PathEscape(res.Case.ID), map[string]any{"id": res.Case.ID,
		"status": res.Case.Status, "keep": res.Case.Keep, "removed": res.Removed})
}

// reopenDuplicate puts a decided case back in the queue with its reason.
func (c *Console) reopenDuplicate(q *request) {
	dc, err := dedupjob.Reopen(q.r.Context(), c.cfg.Store, store.Reopen{ID: q.r.PathValue("id"),
		Reason: q.r.PostFormValue("reason"), By: q.user.Name}, dedupjob.AllowReviewer(q.user, api.ErrOutOfScope))
	if err != nil {
		c.failWith(q, err)
		return
	}
	c.done(q, "/console/duplicates/"+url.PathEscape(dc.ID), map[string]any{"id": dc.ID, "status": dc.Status})
}
