package sdk

import (
	"fmt"
	"maps"

	json "github.com/dengji/dengji/internal/jsonx"
	"github.com/dengji/dengji/model"
	dsync "github.com/dengji/dengji/sync"
	"go.etcd.io/bbolt"
)

// A change the server refused leaves the outbox for the rejected list
// (Rejected), with its values and the server's reason, so nothing typed is
// lost and no refusal blocks the changes after it. The registrar then
// corrects it (a new edit made from it) or discards it.

// Discard forgets a refused change (by its change ID): the registrar has
// seen the refusal and wants nothing more of it.
func (d *Device) Discard(changeID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.db.Update(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketRejected).Get([]byte(changeID)) == nil {
			return fmt.Errorf("%w: no refused change %s", ErrNotFound, changeID)
		}
		return tx.Bucket(bucketRejected).Delete([]byte(changeID))
	})
}

// Correct makes a new edit from a refused change (by its change ID), with
// fields laid over the values it set (nil: send them again as they were,
// e.g. after the registrar's scope was widened), and for a create district
// instead of its district ("" keeps it). A refused create becomes a new
// create of the same record, an update a new update of the record as the
// device sees it now, a delete a new delete. The new edit is validated
// like any other, and the refusal leaves the list in the same transaction;
// it answers the ID of the record edited.
func (d *Device) Correct(changeID, district string, fields map[string]json.RawMessage) (string, error) {
	var rej *Rejection
	err := d.db.View(func(tx *bbolt.Tx) (err error) {
		rej, err = rejectionTx(tx, changeID)
		return err
	})
	if err != nil {
		return "", err
	}
	old := &rej.Change
	set := maps.Clone(old.Set)
	maps.Copy(set, fields)
	forget := func(tx *bbolt.Tx) error { return tx.Bucket(bucketRejected).Delete([]byte(changeID)) }
	switch old.Op {
	case dsync.OpCreate:
		if district == "" {
			district = old.District
		}
		ch := &dsync.Change{Record: old.Record, Type: old.Type, District: district, Op: dsync.OpCreate,
			Set: model.Normalize(old.Type, set)}
		if err := d.write(ch, noView(old.Record), forget); err != nil {
			return "", err
		}
		return old.Record, nil
	case dsync.OpDelete:
		ch, prepare := deleteEdit(old.Record)
		return old.Record, d.write(ch, prepare, forget)
	default:
		ch, prepare := updateEdit(old.Record, set)
		return old.Record, d.write(ch, prepare, forget)
	}
}

// noView refuses a create of a record the device already shows.
func noView(id string) func(*dsync.Record) error {
	return func(view *dsync.Record) error {
		if view != nil {
			return fmt.Errorf("sdk: record %s already exists", id)
		}
		return nil
	}
}

func rejectionTx(tx *bbolt.Tx, changeID string) (*Rejection, error) {
	v := tx.Bucket(bucketRejected).Get([]byte(changeID))
	if v == nil {
		return nil, fmt.Errorf("%w: no refused change %s", ErrNotFound, changeID)
	}
	var r Rejection
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("decode refused change %s: %w", changeID, err)
	}
	return &r, nil
}
