package console

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"

	"github.com/dengji/dengji/server/api"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// apiDescribe is how the API answers an error (status, code, message).
var apiDescribe = api.Describe

// pageSize is the rows of a queue page.
const pageSize = 50

// listQuery is a queue's filter: district (or area) in the caller's scope,
// status, and where the page starts.
type listQuery struct {
	District, Status, After string
	Districts               []string // the filter's districts; nil: every district (an admin without filter)
}

// query reads a queue's filter; a district outside the caller's scope is
// refused (403 out_of_scope), as the API's ?district= is.
func (c *Console) query(q *request, statuses ...string) (listQuery, error) {
	v := q.r.URL.Query()
	lq := listQuery{District: v.Get("district"), Status: v.Get("status"), After: v.Get("after")}
	if lq.Status == "" {
		lq.Status = statuses[0]
	}
	ok := false
	for _, s := range statuses {
		ok = ok || s == lq.Status
	}
	if !ok || len(lq.After) > 128 || len(lq.District) > 128 {
		return lq, badField("status", "状态或分页参数无效", "status or page parameter is not valid")
	}
	if lq.District == "" {
		lq.Districts = q.user.Scope()
		return lq, nil
	}
	if !q.user.InScope(lq.District) {
		return lq, api.ErrOutOfScope
	}
	err := c.cfg.Store.View(q.r.Context(), func(tx store.Tx) error {
		var err error
		lq.Districts, err = store.DistrictsUnder(tx, []string{lq.District})
		return err
	})
	return lq, err
}

// next is the link to the page after the last row.
func (lq listQuery) next(path, last string) string {
	v := url.Values{"status": {lq.Status}, "after": {last}}
	if lq.District != "" {
		v.Set("district", lq.District)
	}
	return path + "?" + v.Encode()
}

// conflictRow is a conflict as the queue shows it: the voter's name and
// the district's, dates instead of clocks.
type conflictRow struct {
	dsync.Conflict
	Name, DistrictName string
}

type conflictsPage struct {
	Query listQuery
	Rows  []conflictRow
	Next  string
}

func (c *Console) conflicts(q *request) {
	lq, err := c.query(q, string(dsync.ConflictOpen), string(dsync.ConflictResolved))
	if err != nil {
		c.failWith(q, err)
		return
	}
	p := conflictsPage{Query: lq}
	err = c.cfg.Store.View(q.r.Context(), func(tx store.Tx) error {
		cs, err := tx.Conflicts(store.ConflictQuery{Districts: lq.Districts, Status: dsync.ConflictStatus(lq.Status),
			After: lq.After, Limit: pageSize + 1})
		if err != nil {
			return err
		}
		if len(cs) > pageSize {
			cs = cs[:pageSize]
			p.Next = lq.next("/console/conflicts", cs[pageSize-1].ID)
		}
		for _, cf := range cs {
			row, err := c.conflictRow(tx, cf)
			if err != nil {
				return err
			}
			p.Rows = append(p.Rows, row)
		}
		return nil
	})
	if err != nil {
		c.failWith(q, err)
		return
	}
	c.render(q, 200, "conflicts", "conflicts", "冲突 / Conflicts", p)
}

func (c *Console) conflictRow(tx store.Tx, cf dsync.Conflict) (conflictRow, error) {
	row := conflictRow{Conflict: cf, DistrictName: c.districtName(tx, cf.District)}
	rec, err := tx.Record(cf.Record)
	if errors.Is(err, store.ErrNotFound) {
		return row, nil
	}
	if err != nil {
		return row, err
	}
	row.Name = showValue(rec.Fields["name"].Value)
	return row, nil
}

// districtName is the districts table's name of code ("" if none).
func (c *Console) districtName(tx store.Tx, code string) string {
	d, err := tx.District(code)
	if err != nil {
		return ""
	}
	return d.Name
}

// visibleConflict reads a conflict the caller may see: one outside their
// districts is not found, as one that does not exist.
func (c *Console) visibleConflict(q *request, tx store.Tx) (*dsync.Conflict, error) {
	cf, err := tx.Conflict(q.r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if !q.user.InScope(cf.District) {
		return nil, store.ErrNotFound
	}
	return cf, nil
}

type conflictPage struct {
	Row     conflictRow
	History []historyRow
}

func (c *Console) conflict(q *request) {
	var p conflictPage
	err := c.cfg.Store.View(q.r.Context(), func(tx store.Tx) error {
		cf, err := c.visibleConflict(q, tx)
		if err != nil {
			return err
		}
		if p.Row, err = c.conflictRow(tx, *cf); err != nil {
			return err
		}
		p.History, err = historyRows(tx, cf.Record)
		return err
	})
	if err != nil {
		c.failWith(q, err)
		return
	}
	c.render(q, 200, "conflict", "conflicts", "冲突 / Conflict", p)
}

// resolve records a decision (kept, other, or a typed value) through
// store.ResolveConflict, the API's own: the record's change reaches devices
// at their next pull.
func (c *Console) resolve(q *request) {
	choice := q.r.PostFormValue("choice")
	var value json.RawMessage
	if choice == store.ChoiceValue {
		value, _ = json.Marshal(q.r.PostFormValue("value"))
	}
	cf, err := store.ResolveConflict(q.r.Context(), c.cfg.Store, store.Resolve{Conflict: q.r.PathValue("id"),
		Choice: choice, Value: value, By: q.user.Name, Validate: c.cfg.Validator,
		Allow: func(cf *dsync.Conflict) error {
			if !q.user.InScope(cf.District) {
				return store.ErrNotFound
			}
			return nil
		}})
	if err != nil {
		c.failWith(q, err)
		return
	}
	c.done(q, "/console/conflicts/"+url.PathEscape(cf.ID), map[string]any{"id": cf.ID, "status": cf.Status,
		"choice": cf.Resolution.Choice})
}

// reopenConflict puts a resolved conflict back in the queue, the reason on
// record in the audit log.
func (c *Console) reopenConflict(q *request) {
	cf, err := store.ReopenConflict(q.r.Context(), c.cfg.Store, store.Reopen{ID: q.r.PathValue("id"),
		Reason: q.r.PostFormValue("reason"), By: q.user.Name, Allow: func(cf *dsync.Conflict) error {
			if !q.user.InScope(cf.District) {
				return store.ErrNotFound
			}
			return nil
		}})
	if err != nil {
		c.failWith(q, err)
		return
	}
	c.done(q, "/console/conflicts/"+url.PathEscape(cf.ID), map[string]any{"id": cf.ID, "status": cf.Status})
}

// done answers a decision: JSON to the console's script (the page updates
// without reloading), a redirect to a plain form.
func (c *Console) done(q *request, back string, v any) {
	c.decided()
	if wantsJSON(q.r) {
		sendJSON(q, 200, v)
		return
	}
	http.Redirect(q.w, q.r, back, http.StatusSeeOther)
}

// historyRow is one change of a record: when, who, which device, what.
type historyRow struct {
	Seq            uint64
	When           string
	Author, Device string
	Op             string
	Fields         []fieldValue
}

type fieldValue struct{ Field, Value string }

func historyRows(tx store.Tx, record string) ([]historyRow, error) {
	hs, err := store.RecordHistory(tx, record)
	if err != nil {
		return nil, err
	}
	out := make([]historyRow, 0, len(hs))
	for _, h := range hs {
		row := historyRow{Seq: h.Seq, When: fmtHLC(h.Change.HLC), Author: h.Change.Author, Device: h.Change.Device,
			Op: string(h.Change.Op)}
		for _, k := range sortedFields(h.Change.Set) {
			row.Fields = append(row.Fields, fieldValue{k, showValue(h.Change.Set[k])})
		}
		out = append(out, row)
	}
	return out, nil
}

type historyPage struct {
	Record, District, Name string
	Rows                   []historyRow
}

// history shows every change of a record in the caller's districts.
func (c *Console) history(q *request) {
	var p historyPage
	err := c.cfg.Store.View(q.r.Context(), func(tx store.Tx) error {
		rec, err := tx.Record(q.r.PathValue("id"))
		if err != nil {
			return err
		}
		if !q.user.InScope(rec.District) {
			return store.ErrNotFound
		}
		p.Record, p.District, p.Name = rec.ID, rec.District, showValue(rec.Fields["name"].Value)
		p.Rows, err = historyRows(tx, rec.ID)
		return err
	})
	if err != nil {
		c.failWith(q, err)
		return
	}
	c.render(q, 200, "history", "", "记录历史 / Record history", p)
}

// fieldLabel is a record field's name as a person reads it.
func fieldLabel(field string, en bool) string {
	if l, ok := fieldLabels[field]; ok {
		if en {
			return l[1]
		}
		return l[0]
	}
	return field
}

var fieldLabels = map[string][2]string{
	"name": {"姓名", "Name"}, "gender": {"性别", "Gender"}, "birth_date": {"出生日期", "Birth date"},
	"id_number": {"身份证号", "ID number"}, "household_address": {"户籍地址", "Household address"},
	"residence_address": {"现住址", "Residence"}, "phone": {"联系电话", "Phone"},
	"voter_group": {"选民小组", "Voter group"}, "channel": {"登记方式", "Channel"}, "status": {"状态", "Status"},
	"addition_reason": {"增加原因", "Addition reason"}, "removal_reason": {"减少原因", "Removal reason"},
	"removal_detail": {"减少说明", "Removal detail"}, "category": {"四种人", "Category"},
	"category_note": {"四种人说明", "Category note"}, dsync.FieldDeleted: {"已删除", "Deleted"},
	"district": {"选区", "District"}, "address": {"地址", "Address"}, "county": {"所在县", "County"},
	// Levels of a duplicate check's field comparison (dedup.FieldEvidence).
	"missing": {"缺失", "missing"}, "conflict": {"矛盾", "conflict"}, "disagree": {"不一致", "disagree"},
	"close": {"相近", "close"}, "lunar": {"农历", "lunar"}, "pinyin": {"同音", "same sound"},
	"repaired": {"修正后一致", "repaired"}, "exact": {"一致", "exact"},
}

func sortedFields(m map[string]json.RawMessage) []string {
	return slices.Sorted(maps.Keys(m))
}
