package sync

import (
	"encoding/json"
	"testing"
)

// Identifiers hold visible characters only: a control character, a space
// or a bidirectional override in an ID could break a log line or make one
// ID look like another.
func TestChange_ValidateIdentifiers(t *testing.T) {
	for _, bad := range []string{"a\x13b", "a b", "a\u202eb", "\xff", "a\u3000b"} {
		ch := Change{ID: "c1", Device: "d1", Counter: 1, Record: "r1", Type: "registration", District: "430102001001",
			Op: OpCreate, Set: map[string]json.RawMessage{"name": json.RawMessage(`"x"`)}}
		if err := ch.Validate(); err != nil {
			t.Fatalf("valid change refused: %v", err)
		}
		for _, f := range []*string{&ch.ID, &ch.Device, &ch.Record, &ch.Type, &ch.District} {
			old := *f
			*f = bad
			if err := ch.Validate(); err == nil {
				t.Errorf("identifier %q accepted", bad)
			}
			*f = old
		}
	}
}
