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

// BenchmarkDecodeCompact decodes a registration as a device reads it from
// a pulled page (go test ./sync -run X -bench DecodeCompact).
func BenchmarkDecodeCompact(b *testing.B) {
	r := &Record{ID: "019ab3c2-7d1e-7a00-8000-000000000001", Type: "registration", District: "430102001001", Seq: 7, HLC: 42,
		Fields:  map[string]Field{},
		Writers: map[string]Writer{"019ab3c2-7d1e-7a00-8000-0000000000c1": {Device: "phone-1", Author: "li", HLC: 40}},
	}
	for k, v := range map[string]string{"name": `"李碧辉"`, "gender": `"F"`, "id_number": `"430102199001011234"`,
		"birth_date": `"1990-01-01"`, "address": `"湖南省长沙市芙蓉区人民路12号3栋"`, "phone": `"13800138000"`,
		"ethnicity": `"汉族"`, FieldDeleted: `false`} {
		r.Fields[k] = Field{Value: json.RawMessage(v), Version: "019ab3c2-7d1e-7a00-8000-0000000000c1"}
	}
	data := r.AppendCompactJSON(nil)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeCompact(data); err != nil {
			b.Fatal(err)
		}
	}
}
