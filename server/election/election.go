// Package election keeps the election a server runs (its name, day and
// deadlines) in the store's settings, records each change in the audit log,
// and holds the one a running server validates with.
package election

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/audit"
	"github.com/dengji/dengji/server/store"
)

// Settings keys. SettingDay is the election day alone, as older versions
// kept it; Set writes it too, so a reader of the day alone stays right.
const (
	Setting    = "election"
	SettingDay = "election_day"
)

// ErrInvalid means an election's settings were refused; errors wrap it in
// an *InvalidError naming the fields.
var ErrInvalid = errors.New("election: invalid settings")

// InvalidError lists what is wrong with an election, field by field.
type InvalidError struct{ Issues []model.Issue }

func (e *InvalidError) Error() string {
	msg := ErrInvalid.Error()
	for _, is := range e.Issues {
		msg += "; " + is.Field + ": " + is.Message
	}
	return msg
}

func (e *InvalidError) Unwrap() error { return ErrInvalid }

// Get reads the stored election; the zero Election if none is set. A day
// kept alone by an older version is read as an election without a name.
func Get(tx store.AuthTx) (model.Election, error) {
	var e model.Election
	v, err := tx.Setting(Setting)
	if err == nil {
		if err := json.Unmarshal(v, &e); err != nil {
			return e, fmt.Errorf("election: setting %s: %w", Setting, err)
		}
		return e, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return e, err
	}
	v, err = tx.Setting(SettingDay)
	if errors.Is(err, store.ErrNotFound) {
		return e, nil
	}
	e.Day = string(v)
	return e, err
}

// Set stores e after checking it, with an election_changed entry in the
// audit log (the actor is ctx's), and reports whether anything changed.
// Setting what is stored changes nothing and records nothing.
func Set(ctx context.Context, tx store.Tx, e model.Election) (bool, error) {
	if issues := e.Check(); len(issues) > 0 {
		return false, &InvalidError{Issues: issues}
	}
	old, err := Get(tx)
	if err != nil {
		return false, err
	}
	if old == e {
		return false, nil
	}
	b, err := json.Marshal(e)
	if err != nil {
		return false, err
	}
	if err := audit.Append(ctx, tx, audit.ElectionChanged, "", audit.D{"election": e, "was": old}); err != nil {
		return false, err
	}
	if err := tx.PutSetting(Setting, b); err != nil {
		return false, err
	}
	return true, tx.PutSetting(SettingDay, []byte(e.Day))
}

// Live is the election a running server validates with; Store replaces it
// when an administrator changes it. Its zero value holds no election (no
// age check).
type Live struct {
	p atomic.Pointer[model.Election]
}

// NewLive holds e.
func NewLive(e model.Election) *Live {
	l := &Live{}
	l.Store(e)
	return l
}

// Store makes e the election validated with from now on.
func (l *Live) Store(e model.Election) { l.p.Store(&e) }

// Load is the election held.
func (l *Live) Load() model.Election {
	if e := l.p.Load(); e != nil {
		return *e
	}
	return model.Election{}
}

// Rules are the validation rules of the election held.
func (l *Live) Rules() model.Rules { return l.Load().Rules() }
