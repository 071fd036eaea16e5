package sdk

import (
	json "github.com/dengji/dengji/internal/jsonx"
	"github.com/dengji/dengji/model"
)

// Issue is one problem validation found in a record (the shared model's).
type Issue = model.Issue

// modelValidator checks records with the shared model, the same rules the
// server runs. Warnings never refuse an edit.
func modelValidator(rules model.Rules) func(typ, district string, fields map[string]json.RawMessage) error {
	return func(typ, district string, fields map[string]json.RawMessage) error {
		rep := model.Validate(typ, district, fields, rules)
		if rep.OK() {
			return nil
		}
		return &ValidationError{Issues: rep.Errors}
	}
}
