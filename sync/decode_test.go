package sync

import (
	"bytes"
	"encoding/json"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// decodeStd is the general decoder the fast path stands in for.
func decodeStd(body []byte) (PushRequest, error) {
	var req PushRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	return req, dec.Decode(&req)
}

// checkParse holds ParsePushRequest to its promise: what it accepts, the
// general decoder accepts too, with the same result.
func checkParse(t *testing.T, body []byte) (ok bool) {
	t.Helper()
	fast, ok := ParsePushRequest(body)
	if !ok {
		return false
	}
	std, err := decodeStd(body)
	if err != nil {
		t.Fatalf("fast path accepted what encoding/json refuses (%v):\n%s", err, body)
	}
	if len(std.Changes) == 0 && len(fast.Changes) == 0 {
		return true
	}
	if !reflect.DeepEqual(fast, std) {
		t.Fatalf("fast path and encoding/json differ on\n%s\nfast %+v\n std %+v", body, fast, std)
	}
	return true
}

// devicePush is a body as the SDK sends it: changes as AppendJSON writes
// them, values as json.Marshal writes them.
func devicePush(rng *rand.Rand, n int) []byte {
	b := []byte(`{"changes":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		ch := Change{ID: "019ab3c2-7d1e-7a00-8000-00000000000" + string(rune('0'+i%10)), Device: "dev-1",
			Counter: uint64(i + 1), Record: "r" + string(rune('a'+i%26)), Type: "registration",
			District: "430102001001", Op: OpUpdate, HLC: HLC(rng.Uint64()),
			Set: map[string]json.RawMessage{}, Base: map[string]string{"name": "019ab3c2", "_deleted": ""}}
		for _, k := range []string{"name", "address", "note", "flags", "age"} {
			switch k {
			case "flags":
				ch.Set[k] = json.RawMessage(`[true,{"a":[1,2.5e3,null]},"x"]`)
			case "age":
				ch.Set[k] = json.RawMessage(`-42`)
			default:
				v, _ := json.Marshal(pick(rng))
				ch.Set[k] = v
			}
		}
		b = ch.AppendJSON(b)
	}
	return append(b, "]}"...)
}

func TestParsePushRequest_DeviceBodies(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for _, n := range []int{0, 1, 2, 50} {
		body := devicePush(rng, n)
		if !checkParse(t, body) {
			t.Fatalf("a body as devices send it must take the fast path:\n%s", body)
		}
	}
	spaced := []byte(" {\n \"changes\" : [ {\"id\" : \"c1\" , \"n\" : 7 , \"set\" : { \"a\" : [ 1 , 2 ] } ,\"hlc\":9} ] } \n")
	if !checkParse(t, spaced) {
		t.Fatalf("white space must not leave the fast path")
	}
}

func TestParsePushRequest_LeavesTheUnusualToTheGeneralDecoder(t *testing.T) {
	for _, body := range []string{
		`{"changes":null}`,
		`{"changes":[{"ID":"c1"}]}`,           // case-insensitive key
		`{"changes":[{"id":"c\u0031"}]}`,      // escaped string
		`{"changes":[{"id":"c1","id":"c2"}]}`, // repeated field
		`{"changes":[{"set":{"a":1,"a":2}}]}`,
		`{"changes":[{"n":01}]}`,
		`{"changes":[{"n":-1}]}`,
		`{"changes":[{"set":{"a":tru}}]}`,
		`{"changes":[{"set":{"a":"x\q"}}]}`,
		`{"changes":[{"extra":1}]}`,
		`{"changes":[]} trailing`,
		`{"changes":[],"more":1}`,
	} {
		if _, ok := ParsePushRequest([]byte(body)); ok {
			t.Errorf("fast path took %s", body)
		}
	}
}

// Random damage to device bodies: whatever the fast path still accepts must
// decode exactly as encoding/json decodes it.
func TestParsePushRequest_Mutations(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const alphabet = `{}[]:," \0-9eE.+tfnul\x01`
	accepted := 0
	for i := 0; i < 20000; i++ {
		body := devicePush(rng, 1+rng.IntN(3))
		for m := 1 + rng.IntN(3); m > 0; m-- {
			at := rng.IntN(len(body))
			switch rng.IntN(3) {
			case 0:
				body = append(body[:at], body[at+1:]...)
			case 1:
				body = append(body[:at], append([]byte{alphabet[rng.IntN(len(alphabet))]}, body[at:]...)...)
			default:
				body[at] = alphabet[rng.IntN(len(alphabet))]
			}
		}
		if checkParse(t, body) {
			accepted++
		}
	}
	if accepted == 0 {
		t.Fatal("no mutated body took the fast path: the test exercises nothing")
	}
}

func FuzzParsePushRequest(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 1))
	f.Add(devicePush(rng, 2))
	f.Add([]byte(`{"changes":[{"id":"c","set":{"a":{"b":["}",1]}},"hlc":"1"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) { checkParse(t, body) })
}

// go test ./sync -run X -bench Decode: the fast path against encoding/json on
// a batch of 1,000 changes shaped like the SDK's, and the same as columns.
func BenchmarkDecodePush(b *testing.B) {
	body := devicePush(rand.New(rand.NewPCG(1, 2)), 1000)
	b.Run("fast", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, ok := ParsePushRequest(body); !ok {
				b.Fatal("slow path")
			}
		}
	})
	b.Run("columns", func(b *testing.B) {
		fast, _ := ParsePushRequest(body)
		cols := AppendColumns(nil, fast.Changes)
		b.SetBytes(int64(len(body))) // the same changes, one after another: comparable MB/s
		for b.Loop() {
			if _, err := DecodeColumns(cols, decodeJSON); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := decodeStd(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// storedRecord is a record as the server stores it (AppendJSON), with
// values of every JSON kind, several versions and writers.
func storedRecord(rng *rand.Rand) []byte {
	r := Record{ID: "019ab3c2-7d1e-7a00-8000-000000000001", Type: "registration", District: "430102001001",
		Seq: rng.Uint64N(1 << 40), HLC: HLC(rng.Uint64()), Fields: map[string]Field{},
		Writers: map[string]Writer{"v1": {Device: "dev-1", Author: "li", HLC: HLC(rng.Uint64())}, "v2": {Device: "dev-2"}}}
	for i, k := range []string{"name", "address", "note", "flags", "age", "_deleted"} {
		v, _ := json.Marshal(pick(rng))
		switch k {
		case "flags":
			v = json.RawMessage(`[true,{"a":[1,2.5e3,null]},"x\"]"]`)
		case "age":
			v = json.RawMessage(`-42`)
		case "_deleted":
			v = json.RawMessage(`false`)
		}
		r.Fields[k] = Field{Value: v, Version: []string{"v1", "v2"}[i%2]}
	}
	return r.AppendJSON(nil)
}

// checkParseRecord holds ParseRecord to its promise: what it accepts,
// encoding/json reads the same.
func checkParseRecord(t *testing.T, data []byte) bool {
	t.Helper()
	var fast, std Record
	if !ParseRecord(data, &fast) {
		return false
	}
	if err := json.Unmarshal(data, &std); err != nil {
		t.Fatalf("fast path accepted what encoding/json refuses (%v):\n%s", err, data)
	}
	if !reflect.DeepEqual(fast, std) {
		t.Fatalf("fast path and encoding/json differ on\n%s\nfast %+v\n std %+v", data, fast, std)
	}
	checkScanRecordValues(t, data, &std)
	return true
}

// checkScanRecordValues holds ScanRecordValues to what the general decoder
// read of data: the same ID, type, district and sequence, and each field's
// value, nil for a field the record lacks.
func checkScanRecordValues(t *testing.T, data []byte, want *Record) {
	t.Helper()
	names := append(slices.Sorted(maps.Keys(want.Fields)), "absent")
	vals := make([][]byte, len(names))
	id, typ, district, seq, ok := ScanRecordValues(data, names, vals)
	if !ok || string(id) != want.ID || string(typ) != want.Type || string(district) != want.District || seq != want.Seq {
		t.Fatalf("ScanRecordValues read %q %q %q %d %v of\n%s", id, typ, district, seq, ok, data)
	}
	for i, n := range names {
		if v := want.Fields[n].Value; !bytes.Equal(vals[i], v) || (v == nil) != (vals[i] == nil) {
			t.Fatalf("ScanRecordValues read %s as %q, want %q, in\n%s", n, vals[i], v, data)
		}
	}
}

func TestParseRecord_StoredRecords(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 3))
	for range 200 {
		data := storedRecord(rng)
		if !checkParseRecord(t, data) {
			t.Fatalf("a stored record left the fast path:\n%s", data)
		}
	}
	// Its values are its own: the buffer read from may be reused.
	data := storedRecord(rng)
	var r Record
	ParseRecord(data, &r)
	want := string(r.Fields["name"].Value)
	for i := range data {
		data[i] = ' '
	}
	if string(r.Fields["name"].Value) != want {
		t.Fatal("the record's values alias the buffer it was read from")
	}
}

func TestParseRecord_LeavesTheUnusualToTheGeneralDecoder(t *testing.T) {
	for _, data := range []string{
		`{"id":"a","id":"b"}`,                     // repeated member
		`{"id":"a","extra":1}`,                    // unknown member
		`{"id":"a\u0062"}`,                        // escapes
		`{"fields":{"n":{"v":1,"v":2}}}`,          // repeated field member
		`{"fields":{"n":{"v":1}},"writers":null}`, // null for a map
		`{"id":"a"} x`,                            // trailing data
		`{"seq":-1}`,
	} {
		var r Record
		if ParseRecord([]byte(data), &r) {
			t.Errorf("fast path took %s", data)
		}
		if !reflect.DeepEqual(r, Record{}) {
			t.Errorf("%s: a refused parse changed the record", data)
		}
	}
}

func FuzzParseRecord(f *testing.F) {
	f.Add(storedRecord(rand.New(rand.NewPCG(1, 1))))
	f.Add([]byte(`{"id":"x","fields":{"a":{"v":{"b":["}",1]},"ver":"1"}},"hlc":"1","seq":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ScanRecordValues(data, []string{"a", "name"}, make([][]byte, 2)) // whatever data is, no panic
		checkParseRecord(t, data)
	})
}
