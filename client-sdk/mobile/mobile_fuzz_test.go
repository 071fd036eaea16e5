package mobile_test

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/dengji/dengji/client-sdk/mobile"
	"github.com/dengji/dengji/model"
)

// appRecord is a record as Get and List return it.
type appRecord struct {
	ID       string                     `json:"id"`
	Type     string                     `json:"type"`
	District string                     `json:"district"`
	Deleted  bool                       `json:"deleted"`
	Fields   map[string]json.RawMessage `json:"fields"`
}

// FuzzMobileEdit calls Create, then Update, with fuzzed JSON bytes on a
// real device file, offline (the server URL is never reached). Never a
// panic; a refusal is an error whose message is a JSON object with a code,
// and leaves the device as it was; an accepted edit reads back through Get
// and List as the app sent it, normalized as the model normalizes it, and
// adds one pending change.
func FuzzMobileEdit(f *testing.F) {
	for _, s := range [][4]string{
		{"registration", "430102001001", `{"name":"李碧辉","birth_date":"1960-01-01"}`, `{"phone":"13800138000"}`},
		{"registration", "430102001001", `{"name":" ｗａｎｇ ","id_number":"430102196001010011","gender":"男"}`, `{"name":null}`},
		{"registration", "430102001001", `{"name":"黄金","birth_date":"1960-01-01","note":"x"}`, `{"household_address":"一\r\n二"}`},
		{"registration", "999999001001", `{"name":"a","birth_date":"1960-01-01"}`, `{}`},
		{"registration", "430102001001", `{"name":"a\u0000","birth_date":"1960-01-01"}`, `[]`},
		{"registration", "430102001001", `{"name":"a","birth_date":"1960-01-01"} x`, `null`},
		{"registration", "430102001001", `{"name":{"a":1},"birth_date":"1960-01-01"}`, `{"name":"\ud800"}`},
		{"migrant_contact", "430102001001", `{"registration_id":"r1","date":"2026-01-01"}`, `{"date":"2026-13-01"}`},
		{"nonsense", "430102001001", `{}`, `{"a":"b"}`},
	} {
		f.Add(s[0], s[1], []byte(s[2]), []byte(s[3]))
	}
	dev, err := mobile.Open(filepath.Join(f.TempDir(), "device.db"), "http://127.0.0.1:1", "2026-12-20", nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { dev.Close() })
	f.Fuzz(func(t *testing.T, typ, district string, create, update []byte) {
		pending := mustPending(t, dev)
		id, err := dev.Create(typ, district, create)
		if err != nil {
			checkRefusal(t, err)
			if got := mustPending(t, dev); got != pending {
				t.Fatalf("a refused create changed the outbox from %d to %d", pending, got)
			}
			return
		}
		want := normalized(t, typ, create)
		rec := mustGet(t, dev, id)
		checkRecord(t, dev, rec, id, typ, district, want)
		if got := mustPending(t, dev); got != pending+1 {
			t.Fatalf("a create added %d changes to the outbox", got-pending)
		}
		err = dev.Update(id, update)
		if err != nil {
			checkRefusal(t, err)
			if got := mustGet(t, dev, id); !reflect.DeepEqual(got, rec) {
				t.Fatalf("a refused update changed the record: %+v, was %+v", got, rec)
			}
			return
		}
		for k, v := range normalized(t, typ, update) {
			want[k] = v
		}
		checkRecord(t, dev, mustGet(t, dev, id), id, typ, district, want)
		if got := mustPending(t, dev); got != pending+2 {
			t.Fatalf("a create and an update added %d changes to the outbox", got-pending)
		}
	})
}

func mustPending(t *testing.T, dev *mobile.Device) int {
	t.Helper()
	n, err := dev.Pending()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func mustGet(t *testing.T, dev *mobile.Device, id string) appRecord {
	t.Helper()
	b, err := dev.Get(id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	var r appRecord
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("get %s: %v\n%s", id, err, b)
	}
	return r
}

// checkRefusal: the binding's errors are JSON objects with a code.
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	var e struct {
		Code string `json:"code"`
	}
	if json.Unmarshal([]byte(err.Error()), &e) != nil || e.Code == "" {
		t.Fatalf("an error that is not a coded JSON object: %v", err)
	}
}

// normalized is what the app's fields become: the model's normal form,
// each value decoded (the binding re-encodes values).
func normalized(t *testing.T, typ string, fields []byte) map[string]any {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(fields, &raw); err != nil {
		t.Fatalf("accepted fields encoding/json does not read: %v", err)
	}
	out := map[string]any{}
	for k, v := range model.Normalize(typ, raw) {
		out[k] = decode(t, v)
	}
	return out
}

func decode(t *testing.T, v json.RawMessage) any {
	t.Helper()
	var x any
	if err := json.Unmarshal(v, &x); err != nil {
		t.Fatalf("value %q: %v", v, err)
	}
	return x
}

// checkRecord compares what Get returned, and the record List returns
// for its type and district, with the fields expected.
func checkRecord(t *testing.T, dev *mobile.Device, rec appRecord, id, typ, district string, want map[string]any) {
	t.Helper()
	got := map[string]any{}
	for k, v := range rec.Fields {
		got[k] = decode(t, v)
	}
	if rec.ID != id || rec.Type != typ || rec.District != district || rec.Deleted || !reflect.DeepEqual(got, want) {
		t.Fatalf("record reads back as %+v %v, want %s %s %s %v", rec, got, id, typ, district, want)
	}
	b, err := dev.List(typ, district, false)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	var list []appRecord
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatalf("list: %v\n%s", err, b)
	}
	for _, r := range list {
		if r.ID == id {
			if !reflect.DeepEqual(r, rec) {
				t.Fatalf("List shows %+v, Get %+v", r, rec)
			}
			return
		}
	}
	t.Fatalf("record %s is not in List(%q, %q)", id, typ, district)
}
