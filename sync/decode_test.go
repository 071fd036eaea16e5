package sync

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
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
