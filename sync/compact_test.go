package sync

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestCompact_RoundTrip(t *testing.T) {
	r := &Record{ID: "r1", Type: "registration", District: "430102001001", Seq: 7, HLC: 42,
		Fields: map[string]Field{
			"name":       {Value: json.RawMessage(`"李碧辉"`), Version: "c1"},
			"gender":     {Value: json.RawMessage(`"F"`), Version: "c1"},
			"phone":      {Value: json.RawMessage(`"13800138000"`), Version: "c2"},
			FieldDeleted: {Value: json.RawMessage(`false`), Version: "c1"},
		},
		Writers: map[string]Writer{"c1": {Device: "d1", Author: "li", HLC: 40}, "c2": {Device: "d2", HLC: 41}},
	}
	b := r.AppendCompactJSON(nil)
	got, err := DecodeCompact(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("round trip of %s:\n got %+v\nwant %+v", b, got, r)
	}
	if plain := r.AppendJSON(nil); len(b) >= len(plain) {
		t.Fatalf("compact %d bytes, plain %d", len(b), len(plain))
	}
	if _, err := DecodeCompact([]byte(`{"id":"x","w":[],"f":{"a":"1"}}`)); err == nil {
		t.Fatal("a field naming no writer must be refused")
	}
}
