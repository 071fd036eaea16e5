package sdk

import (
	"fmt"
	"maps"

	json "github.com/dengji/dengji/internal/jsonx"
	"github.com/dengji/dengji/model"
	dsync "github.com/dengji/dengji/sync"
	"github.com/google/uuid"
	"go.etcd.io/bbolt"
)

// ListFilter selects records for List; empty strings match every value.
type ListFilter struct {
	Type           string
	District       string
	IncludeDeleted bool
}

func (f ListFilter) match(r *dsync.Record) bool {
	return (f.Type == "" || f.Type == r.Type) &&
		(f.District == "" || f.District == r.District) &&
		(f.IncludeDeleted || !r.Deleted())
}

func (f ListFilter) matchSummary(s *Summary) bool {
	return (f.Type == "" || f.Type == s.Type) &&
		(f.District == "" || f.District == s.District) &&
		(f.IncludeDeleted || !s.Deleted)
}

// Create stores a new record and returns its ID (a UUIDv7).
func (d *Device) Create(typ, district string, fields map[string]json.RawMessage) (string, error) {
	id, err := newID()
	if err != nil {
		return "", err
	}
	// A create carries no bases: every one would be "" (the field was never
	// written), and the server merges a create by its op.
	ch := &dsync.Change{Record: id, Type: typ, District: district, Op: dsync.OpCreate,
		Set: model.Normalize(typ, fields)}
	if err := d.write(ch, noView(id)); err != nil {
		return "", err
	}
	return id, nil
}

// Update sets fields of a live record. The base of each field is the version
// the device sees now.
func (d *Device) Update(id string, fields map[string]json.RawMessage) error {
	return d.write(updateEdit(id, fields))
}

// Delete marks a live record deleted. The change carries the version of every
// field the device sees, so the server can tell an edit the author never saw.
func (d *Device) Delete(id string) error {
	return d.write(deleteEdit(id))
}

// updateEdit is the change of an update and what fills it in from the view.
func updateEdit(id string, fields map[string]json.RawMessage) (*dsync.Change, func(*dsync.Record) error) {
	ch := &dsync.Change{Record: id, Op: dsync.OpUpdate, Set: maps.Clone(fields)}
	return ch, func(view *dsync.Record) error {
		if err := editable(view, id); err != nil {
			return err
		}
		ch.Type, ch.District = view.Type, view.District
		ch.Set = model.Normalize(view.Type, ch.Set)
		ch.Base = make(map[string]string, len(fields)+1)
		for k := range fields {
			ch.Base[k] = view.Version(k)
		}
		ch.Base[dsync.FieldDeleted] = view.Version(dsync.FieldDeleted)
		return nil
	}
}

// deleteEdit is the change of a delete and what fills it in from the view.
func deleteEdit(id string) (*dsync.Change, func(*dsync.Record) error) {
	ch := &dsync.Change{
		Record: id, Op: dsync.OpDelete,
		Set: map[string]json.RawMessage{dsync.FieldDeleted: json.RawMessage("true")},
	}
	return ch, func(view *dsync.Record) error {
		if err := editable(view, id); err != nil {
			return err
		}
		ch.Type, ch.District = view.Type, view.District
		ch.Base = make(map[string]string, len(view.Fields))
		for k, f := range view.Fields {
			ch.Base[k] = f.Version
		}
		return nil
	}
}

func editable(view *dsync.Record, id string) error {
	switch {
	case view == nil:
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	case view.Deleted():
		return fmt.Errorf("%w: %s", ErrDeleted, id)
	}
	return nil
}

// write stores one local change: prepare fills in the change from the current
// view, then the change gets its identity, the resulting record is validated,
// and the outbox entry, the new view and whatever also writes are written in
// one transaction.
func (d *Device) write(ch *dsync.Change, prepare func(view *dsync.Record) error, also ...func(*bbolt.Tx) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.db.Update(func(tx *bbolt.Tx) error {
		view, err := viewRecordTx(tx, ch.Record)
		if err != nil {
			return err
		}
		if err := prepare(view); err != nil {
			return err
		}
		if err := d.stampTx(tx, ch); err != nil {
			return err
		}
		next := applyChange(view, ch)
		if err := d.validate(ch, next); err != nil {
			return err
		}
		if err := appendChangeTx(tx, ch); err != nil {
			return err
		}
		for _, fn := range also {
			if err := fn(tx); err != nil {
				return err
			}
		}
		return putRecordTx(tx, bucketView, next)
	})
}

// stampTx gives a change its ID, device, counter and HLC, and persists the
// counter and clock. The caller holds d.mu.
func (d *Device) stampTx(tx *bbolt.Tx, ch *dsync.Change) error {
	id, err := newID()
	if err != nil {
		return err
	}
	ch.ID, ch.Device = id, d.id
	ch.Counter = getU64Tx(tx, keyCounter) + 1
	ch.HLC = d.clock.Tick()
	if err := ch.Validate(); err != nil {
		return err
	}
	if err := putU64Tx(tx, keyCounter, ch.Counter); err != nil {
		return err
	}
	return putU64Tx(tx, keyHLC, uint64(ch.HLC))
}

func (d *Device) validate(ch *dsync.Change, next *dsync.Record) error {
	if ch.Op == dsync.OpDelete {
		return nil
	}
	if err := d.checkScope(ch); err != nil {
		return err
	}
	validate := d.opts.Validate
	if validate == nil {
		validate = modelValidator(d.modelRules())
	}
	if err := validate(next.Type, next.District, next.Values()); err != nil {
		return asValidationError(err)
	}
	return nil
}

func newID() (string, error) {
	u, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("sdk: make id: %w", err)
	}
	return u.String(), nil
}

// Get returns a record as the app sees it (a deleted record is returned with
// Deleted() true).
func (d *Device) Get(id string) (*dsync.Record, error) {
	var r *dsync.Record
	err := d.db.View(func(tx *bbolt.Tx) error {
		var err error
		r, err = viewRecordTx(tx, id)
		return err
	})
	if err == nil && r == nil {
		err = fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return r, err
}

// List returns the records matching f, ordered by ID (creation order for
// records made on devices).
func (d *Device) List(f ListFilter) ([]*dsync.Record, error) {
	var out []*dsync.Record
	err := d.db.View(func(tx *bbolt.Tx) error {
		return forEachViewTx(tx, "", func(r *dsync.Record) (bool, error) {
			if f.match(r) {
				out = append(out, r)
			}
			return true, nil
		})
	})
	return out, err
}

// Pending is the number of changes not yet acknowledged by the server.
func (d *Device) Pending() (int, error) {
	var n int
	err := d.db.View(func(tx *bbolt.Tx) error {
		n = tx.Bucket(bucketOutbox).Stats().KeyN
		return nil
	})
	return n, err
}

// Conflicts lists the conflicts the server reported for this device's changes.
func (d *Device) Conflicts() ([]dsync.Conflict, error) {
	var out []dsync.Conflict
	err := d.db.View(func(tx *bbolt.Tx) (err error) {
		out, err = listJSONTx[dsync.Conflict](tx, bucketConflicts)
		return err
	})
	return out, err
}

// Rejected lists the changes the server refused, with their values.
func (d *Device) Rejected() ([]Rejection, error) {
	var out []Rejection
	err := d.db.View(func(tx *bbolt.Tx) (err error) {
		out, err = listJSONTx[Rejection](tx, bucketRejected)
		return err
	})
	return out, err
}
