package dedupjob

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	json "github.com/dengji/dengji/internal/jsonx"
	"github.com/google/uuid"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/audit"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// Decision is a coordinator's verdict on one case.
type Decision struct {
	Case   string
	Status store.DupStatus // DupConfirmed or DupRejected
	Keep   string          // confirmed: the registration kept ("": the engine's suggestion)
	By     string
	// Remove, with DupConfirmed, marks the other registrations removed
	// (registered_elsewhere, naming the kept district) through server
	// changes that reach devices at their next pull. Deciding a confirmed
	// case again with the same Keep and Remove removes what is left.
	Remove bool
	// Allow sees the case before anything is written; an error (e.g. a
	// member out of the coordinator's districts) aborts the decision.
	Allow    func(*store.DupCase) error
	Validate store.Validator // checks the removal changes; nil: none
}

// Decided is a decision's outcome.
type Decided struct {
	Case    store.DupCase `json:"case"`
	Removed []string      `json:"removed,omitempty"` // registrations marked removed now
}

// Decide records a decision on a case, and in the same transaction its
// audit entry (its actor d.By). Nothing else about the case's registrations
// changes unless d.Remove asks for it.
func Decide(ctx context.Context, st store.Store, d Decision) (*Decided, error) {
	ctx = audit.As(ctx, d.By)
	if d.Status != store.DupConfirmed && d.Status != store.DupRejected {
		return nil, ErrBadDecision
	}
	var c *store.DupCase
	err := st.Update(ctx, func(tx store.Tx) error {
		var err error
		if c, err = tx.DupCase(d.Case); err != nil {
			return err
		}
		if d.Allow != nil {
			if err := d.Allow(c); err != nil {
				return err
			}
		}
		wasOpen := c.Status == store.DupOpen
		if err := record(tx, c, &d); err != nil || !wasOpen {
			return err // a decision made again the same way is no new one
		}
		return audit.Append(ctx, tx, audit.DuplicateDecided, c.ID, audit.D{"status": c.Status, "keep": c.Keep,
			"remove": d.Remove, "members": c.Records(), "districts": c.Districts()})
	})
	if err != nil {
		return nil, err
	}
	out := &Decided{Case: *c}
	if d.Remove && c.Status == store.DupConfirmed {
		out.Removed, err = removeOthers(ctx, st, c, &d)
	}
	return out, err
}

// record writes the decision into c, or accepts it unchanged when c was
// decided the same way before.
func record(tx store.Tx, c *store.DupCase, d *Decision) error {
	keep := d.Keep
	if d.Status == store.DupConfirmed {
		if keep == "" {
			keep = c.Keep
		}
		if !slices.Contains(c.Records(), keep) {
			return ErrNotMember
		}
	}
	if c.Status != store.DupOpen {
		if c.Status == d.Status && (d.Status == store.DupRejected || c.Keep == keep) {
			return nil
		}
		return ErrDecided
	}
	if d.Status == store.DupConfirmed {
		c.Keep = keep
	}
	c.Status, c.DecidedBy, c.DecidedAt = d.Status, d.By, time.Now().UTC()
	if err := tx.PutDupCase(c); err != nil {
		return err
	}
	return followCase(tx, c, string(c.Status), c.DecidedAt)
}

// removeOthers marks every live member but the kept one removed, as one
// push of server changes.
func removeOthers(ctx context.Context, st store.Store, c *store.DupCase, d *Decision) ([]string, error) {
	var chs []dsync.Change
	err := st.View(ctx, func(tx store.Tx) error {
		detail, err := keptDetail(tx, c)
		if err != nil {
			return err
		}
		for _, m := range c.Members {
			if m.Record == c.Keep {
				continue
			}
			ch, err := removal(tx, m.Record, detail)
			if err != nil {
				return err
			}
			if ch != nil {
				chs = append(chs, *ch)
			}
		}
		return nil
	})
	if err != nil || len(chs) == 0 {
		return nil, err
	}
	res, err := store.Push(ctx, st, store.PushRequest{Device: store.ServerDevice, Author: d.By,
		Changes: chs, Validate: d.Validate})
	if err != nil {
		return nil, err
	}
	var removed []string
	for i, r := range res {
		if r.Status == dsync.StatusRejected {
			return removed, fmt.Errorf("%w: %s: %s %s", ErrRemoveRefused, chs[i].Record, r.Code, r.Reason)
		}
		removed = append(removed, chs[i].Record)
	}
	return removed, nil
}

// keptDetail is the removal detail naming the kept registration's district.
func keptDetail(tx store.Tx, c *store.DupCase) (string, error) {
	var code string
	for _, m := range c.Members {
		if m.Record == c.Keep {
			code = m.District
		}
	}
	dist, err := tx.District(code)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "已在选区" + code + "登记", nil
	case err != nil:
		return "", err
	}
	return "已在" + dist.Name + "（选区" + code + "）登记", nil
}

// removal is the server change that marks one registration removed, or nil
// if it is gone or removed already.
func removal(tx store.Tx, id, detail string) (*dsync.Change, error) {
	rec, err := tx.Record(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if rec.Deleted() {
		return nil, nil
	}
	if reg, err := model.RegistrationFromFields(rec.Values()); err == nil && reg.Status == statusRemoved {
		return nil, nil
	}
	cid, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	set := map[string]string{"status": statusRemoved, "removal_reason": "registered_elsewhere", "removal_detail": detail}
	ch := &dsync.Change{ID: cid.String(), Device: store.ServerDevice, Record: rec.ID,
		Type: rec.Type, District: rec.District, Op: dsync.OpUpdate, HLC: dsync.MakeHLC(time.Now().UnixMilli(), 0),
		Set: map[string]json.RawMessage{}, Base: map[string]string{dsync.FieldDeleted: rec.Version(dsync.FieldDeleted)}}
	for k, v := range set {
		b, _ := json.Marshal(v) // a string always marshals
		ch.Set[k], ch.Base[k] = b, rec.Version(k)
	}
	return ch, nil
}
