package console

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"

	"github.com/dengji/dengji/model/idcard"
	"github.com/dengji/dengji/server/audit"
	"github.com/dengji/dengji/server/roll"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

type verificationPage struct {
	Query listQuery
	Items []roll.Unverified
	Next  string
}

// verification is the list of registrations needing verification (待核实)
// in the caller's districts: roll.ListUnverified, as the API's
// GET /v1/verification (each page recorded as an unmasked export).
func (c *Console) verification(q *request) {
	lq, err := c.query(q, "open")
	if err != nil {
		c.failWith(q, err)
		return
	}
	// The tally knows which registrations of each district need
	// verification: the list reads those, not every record of a district.
	vq := roll.VerificationQuery{Districts: lq.Districts, After: lq.After, Limit: pageSize}
	if c.tally.Ready() {
		if err := c.tally.Refresh(q.r.Context(), c.cfg.Store); err != nil {
			c.failWith(q, err)
			return
		}
		vq.Candidates = c.tally.Unverified
	}
	vp, err := roll.ListUnverified(c.actor(q), c.cfg.Store, vq)
	if errors.Is(err, roll.ErrCursor) {
		err = badField("after", "分页参数无效", "not a cursor this list gave")
	}
	if err != nil {
		c.failWith(q, err)
		return
	}
	p := verificationPage{Query: lq, Items: vp.Items}
	if vp.Next != "" {
		v := url.Values{"after": {vp.Next}}
		if lq.District != "" {
			v.Set("district", lq.District)
		}
		p.Next = "/console/verification?" + v.Encode()
	}
	c.render(q, 200, "verification", "verification", "待核实 / To verify", p)
}

// correctID writes a corrected ID number on a registration in the caller's
// districts (a server change, validated by the record model as a device's
// edit is; devices receive it at their next pull). An ID number that still
// fails its checks is kept, and the registration stays on the list.
func (c *Console) correctID(q *request) {
	id := idcard.Normalize(q.r.PostFormValue("id_number"))
	if id == "" || len(id) > 18 {
		c.failWith(q, badField("id_number", "请填写身份证号（15或18位）", "enter the ID number (15 or 18 characters)"))
		return
	}
	v, _ := json.Marshal(id)
	res, err := store.EditRecord(c.actor(q), c.cfg.Store, store.Edit{Record: q.r.PathValue("id"),
		Set: map[string]json.RawMessage{"id_number": v}, By: q.user.Name, Validate: c.cfg.Validator,
		Allow: func(rec *dsync.Record) error {
			if !q.user.InScope(rec.District) || rec.Type != "registration" {
				return store.ErrNotFound
			}
			return nil
		}})
	if err != nil {
		c.failWith(q, err)
		return
	}
	c.done(q, "/console/verification", map[string]any{"record": q.r.PathValue("id"), "seq": res.Seq})
}

// actor is the request's context with the signed-in person as the actor of
// what it records in the audit log.
func (c *Console) actor(q *request) context.Context {
	return audit.As(q.r.Context(), q.user.Name)
}
