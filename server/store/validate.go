package store

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/dengji/dengji/model"
	dsync "github.com/dengji/dengji/sync"
)

// ValidationError rejects a change whose record fails the model's rules. Its
// details are the issues, the same ones the device's SDK reports.
type ValidationError struct {
	Issues []model.Issue
}

func (e *ValidationError) Error() string {
	msgs := make([]string, 0, len(e.Issues))
	for _, is := range e.Issues {
		msgs = append(msgs, is.Field+": "+is.Message)
	}
	return strings.Join(msgs, "; ")
}

// Details is the issues as JSON, for the push result.
func (e *ValidationError) Details() json.RawMessage {
	b, _ := json.Marshal(e.Issues)
	return b
}

// ModelValidator checks records with the record model's rules, the same code
// the device runs, and that a record whose type has a parent (a migrant
// contact's registration) names a record of the parent's type in its own
// district. The server never trusts the device.
func ModelValidator(rules model.Rules) Validator {
	return LiveModelValidator(func() model.Rules { return rules })
}

// LiveModelValidator is ModelValidator with the rules read at each check,
// for a server whose election an administrator may change while it runs.
func LiveModelValidator(rules func() model.Rules) Validator {
	return func(tx SyncTx, rec *dsync.Record) error {
		rep := model.ValidateSeq(rec.Type, rec.District, rec.All(), rules())
		if !rep.OK() {
			return &ValidationError{Issues: rep.Errors}
		}
		if t := model.Lookup(rec.Type); t.Parent != "" {
			return checkParent(tx, rec, t)
		}
		return nil
	}
}

// CodeParentUnknown is the issue of a record whose parent is not a record
// of the parent's type in the same district.
const CodeParentUnknown = "parent_unknown"

func checkParent(tx SyncTx, rec *dsync.Record, t *model.Type) error {
	var parentID string
	json.Unmarshal(rec.Fields[t.Parent].Value, &parentID)
	parent, err := tx.Record(parentID)
	if errors.Is(err, ErrNotFound) || (err == nil && (parent.Type != t.ParentType || parent.District != rec.District)) {
		return &ValidationError{Issues: []model.Issue{{Field: t.Parent, Code: CodeParentUnknown,
			Message: "找不到本选区的对应上级记录（选民登记）/ no parent record (registration) with this ID in the same district"}}}
	}
	return err
}
