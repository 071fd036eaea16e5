package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/dengji/dengji/server/audit"
	dsync "github.com/dengji/dengji/sync"
)

// Resolution choices.
const (
	ChoiceKept  = "kept"  // keep the value the server applied provisionally
	ChoiceOther = "other" // take the value that was not applied
	ChoiceValue = "value" // write a value the coordinator gives
)

// ErrResolved means the conflict was decided already.
var ErrResolved = errors.New("store: conflict already resolved")

// ErrBadChoice means a resolution names no valid choice for its conflict.
var ErrBadChoice = errors.New("store: invalid resolution choice")

// Resolve is a coordinator's decision on one conflict.
type Resolve struct {
	Conflict string
	Choice   string
	Value    json.RawMessage // with ChoiceValue
	By       string
	// Allow is called with the conflict before anything is written; an error
	// (e.g. out of the coordinator's scope) aborts the resolution.
	Allow    func(*dsync.Conflict) error
	Validate Validator
}

// ResolveConflict records the decision and, when it changes the record, makes
// a server change that carries it to every device through the feed. Both,
// and the audit entry of the decision (its actor r.By), happen in one
// transaction.
func ResolveConflict(ctx context.Context, s Store, r Resolve) (*dsync.Conflict, error) {
	ctx = audit.As(ctx, r.By)
	var out *dsync.Conflict
	err := s.Update(ctx, func(tx Tx) error {
		c, err := tx.Conflict(r.Conflict)
		if err != nil {
			return err
		}
		if r.Allow != nil {
			if err := r.Allow(c); err != nil {
				return err
			}
		}
		if c.Status == dsync.ConflictResolved {
			return ErrResolved
		}
		res := &dsync.Resolution{Choice: r.Choice, Value: r.Value, By: r.By,
			At: dsync.MakeHLC(time.Now().UnixMilli(), 0)}
		ch, err := decisionChange(tx, c, r)
		if err != nil {
			return err
		}
		if ch != nil {
			if err := applyDecision(tx, ch, r); err != nil {
				return err
			}
			res.Change = ch.ID
		}
		c.Status, c.Resolution = dsync.ConflictResolved, res
		out = c
		if err := audit.Append(ctx, tx, audit.ConflictResolved, c.ID, audit.D{"record": c.Record,
			"district": c.District, "kind": c.Kind, "field": c.Field, "choice": r.Choice, "change": res.Change}); err != nil {
			return err
		}
		return tx.PutConflict(c)
	})
	return out, err
}

func applyDecision(tx Tx, ch *dsync.Change, r Resolve) error {
	req := PushRequest{Device: ServerDevice, Author: r.By, Validate: r.Validate}
	res, err := pushOne(tx, &req, ch, nil)
	if err != nil {
		return err
	}
	if res.Status != dsync.StatusApplied {
		return fmt.Errorf("%w: %s %s", ErrBadChoice, res.Code, res.Reason)
	}
	return nil
}

// decisionChange builds the change a decision needs, or nil when the
// provisional state already is the decision.
func decisionChange(tx Tx, c *dsync.Conflict, r Resolve) (*dsync.Change, error) {
	if r.Choice != ChoiceKept && r.Choice != ChoiceOther && r.Choice != ChoiceValue {
		return nil, ErrBadChoice
	}
	if r.Choice == ChoiceKept && (c.Resolution == nil || c.Resolution.Change == "") {
		return nil, nil // the provisional state is the decision
	}
	rec, err := tx.Record(c.Record)
	if err != nil {
		return nil, err
	}
	if r.Choice == ChoiceKept {
		return keptAgain(c, rec)
	}
	ch := &dsync.Change{Record: rec.ID, Type: rec.Type, District: rec.District,
		Set: map[string]json.RawMessage{}, Base: map[string]string{}}
	switch c.Kind {
	case dsync.KindField:
		v := c.Other.Value
		if r.Choice == ChoiceValue {
			v = r.Value
		}
		if !json.Valid(v) {
			return nil, ErrBadChoice
		}
		ch.Op, ch.Set[c.Field] = dsync.OpUpdate, v
	case dsync.KindEditDeleted:
		if r.Choice != ChoiceOther || json.Unmarshal(c.Other.Value, &ch.Set) != nil {
			return nil, ErrBadChoice
		}
		ch.Op, ch.Set[dsync.FieldDeleted] = dsync.OpRestore, json.RawMessage("false")
	case dsync.KindDeleteEdited:
		if r.Choice != ChoiceOther {
			return nil, ErrBadChoice
		}
		ch.Op, ch.Set[dsync.FieldDeleted] = dsync.OpDelete, json.RawMessage("true")
	}
	return stampServerChange(ch, rec)
}

// stampServerChange gives a server change its identity and bases: the record
// exactly as it is now, so the decision applies without a new conflict.
func stampServerChange(ch *dsync.Change, rec *dsync.Record) (*dsync.Change, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	ch.ID, ch.Device = id.String(), ServerDevice
	ch.HLC = dsync.MakeHLC(time.Now().UnixMilli(), 0)
	for k, f := range rec.Fields {
		ch.Base[k] = f.Version
	}
	if _, ok := ch.Base[dsync.FieldDeleted]; !ok {
		ch.Base[dsync.FieldDeleted] = ""
	}
	return ch, nil
}

// keptAgain is the change that puts back the provisional winner after a
// reopened conflict's earlier decision changed the record, or nil when the
// record already is that way.
func keptAgain(c *dsync.Conflict, rec *dsync.Record) (*dsync.Change, error) {
	ch := &dsync.Change{Record: rec.ID, Type: rec.Type, District: rec.District,
		Set: map[string]json.RawMessage{}, Base: map[string]string{}}
	switch c.Kind {
	case dsync.KindField:
		if bytes.Equal(rec.Fields[c.Field].Value, c.Kept.Value) {
			return nil, nil
		}
		ch.Op, ch.Set[c.Field] = dsync.OpUpdate, c.Kept.Value
	case dsync.KindEditDeleted: // kept: deleted
		if rec.Deleted() {
			return nil, nil
		}
		ch.Op, ch.Set[dsync.FieldDeleted] = dsync.OpDelete, json.RawMessage("true")
	case dsync.KindDeleteEdited: // kept: the edit, alive
		if !rec.Deleted() {
			return nil, nil
		}
		ch.Op, ch.Set[dsync.FieldDeleted] = dsync.OpRestore, json.RawMessage("false")
	}
	return stampServerChange(ch, rec)
}
