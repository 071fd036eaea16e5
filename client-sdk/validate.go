package sdk

import "encoding/json"

// defaultValidate is the validation used when Options.Validate is nil.
// TODO: wire to model.Validate once the model package has it.
func defaultValidate(typ, district string, fields map[string]json.RawMessage) error {
	return nil
}
