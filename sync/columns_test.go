package sync

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// decodeJSON is the strict decoder the server passes to DecodeColumns.
func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// deviceChanges is a batch as a device makes it: creates writing every
// field, updates writing some with their bases, a delete, counters and
// clocks rising unevenly, a value null.
func deviceChanges(rng *rand.Rand, n int) []Change {
	chs := make([]Change, n)
	counter, hlc := uint64(rng.IntN(100)+1), HLC(rng.Uint64()>>8)
	for i := range chs {
		ch := Change{ID: "c-" + strconv.Itoa(i), Device: "dev-1", Counter: counter,
			Record: "r-" + strconv.Itoa(rng.IntN(n)), Type: "registration", District: "430102001001", HLC: hlc}
		counter += uint64(1 + rng.IntN(3))
		hlc += HLC(rng.IntN(1 << 20))
		switch i % 4 {
		case 0, 1:
			ch.Op, ch.Set = OpCreate, map[string]json.RawMessage{}
			for _, k := range []string{"name", "address", "phone"} {
				v, _ := json.Marshal(pick(rng))
				ch.Set[k] = v
			}
		case 2:
			ch.Op = OpUpdate
			ch.Set = map[string]json.RawMessage{"phone": json.RawMessage(`null`), "age": json.RawMessage(`-42`)}
			ch.Base = map[string]string{"phone": "v-1", "age": "", FieldDeleted: ""}
		default:
			ch.Op = OpDelete
			ch.Set = map[string]json.RawMessage{FieldDeleted: json.RawMessage(`true`)}
			ch.Base = map[string]string{"name": "v-2"}
		}
		chs[i] = ch
	}
	return chs
}

func TestColumns_RoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2))
	for _, n := range []int{0, 1, 2, 7, 300} {
		chs := deviceChanges(rng, n)
		body := AppendColumns(nil, chs)
		req, err := DecodeColumns(body, decodeJSON)
		if err != nil {
			t.Fatalf("%d changes: %v\n%s", n, err, body)
		}
		if n == 0 && len(req.Changes) == 0 {
			continue
		}
		if !reflect.DeepEqual(req.Changes, chs) {
			t.Fatalf("%d changes do not come back:\n%s\ngot  %+v\nwant %+v", n, body, req.Changes, chs)
		}
	}
}

func TestColumns_Refused(t *testing.T) {
	for _, tc := range []struct {
		body string
		want error
	}{
		{`{"device":"d","id":["a","b"],"n":[1],"record":["r","s"],"type":["t","t"],"district":["x","x"],"op":["create","create"],"hlc":[1,1]}`, ErrBadColumns},
		{`{"device":"d","id":["a"],"n":[1],"record":["r"],"type":["t"],"district":["x"],"op":["create"],"hlc":[1],"set":{"a":{"v":[1,2]}}}`, ErrBadColumns},
		{`{"device":"d","id":["a"],"n":[1],"record":["r"],"type":["t"],"district":["x"],"op":["create"],"hlc":[1],"set":{"a":{"rows":[1],"v":[1]}}}`, ErrBadColumns},
		{`{"device":"d","id":["a","b"],"n":[1,1],"record":["r","s"],"type":["t","t"],"district":["x","x"],"op":["create","create"],"hlc":[1,1],"base":{"a":{"rows":[1,0],"v":["v","w"]}}}`, ErrBadColumns},
		{`{"device":"d","id":[` + strings.Repeat(`"",`, maxPushMembers) + `""]}`, ErrPushTooLarge},
	} {
		if _, err := DecodeColumns([]byte(tc.body), decodeJSON); !errors.Is(err, tc.want) {
			t.Errorf("%.120s: %v, want %v", tc.body, err, tc.want)
		}
	}
}

// Whatever DecodeColumns accepts holds no more than a batch, lines up, and
// encodes back to a body that decodes to the same changes.
func FuzzDecodeColumns(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 1))
	f.Add(AppendColumns(nil, deviceChanges(rng, 5)))
	f.Add([]byte(`{"device":"d","id":["a"],"n":[1],"record":["r"],"type":["t"],"district":["x"],"op":["create"],"hlc":[1],"set":{"a":{"rows":[0],"v":[{"b":[1]}]}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeColumns(body, decodeJSON)
		if err != nil {
			return
		}
		if len(req.Changes) > MaxPushBatch {
			t.Fatalf("%d changes decoded", len(req.Changes))
		}
		again, err := DecodeColumns(AppendColumns(nil, req.Changes), decodeJSON)
		if err != nil || len(again.Changes) != len(req.Changes) ||
			len(req.Changes) > 0 && !reflect.DeepEqual(again.Changes, req.Changes) {
			t.Fatalf("does not encode back (%v):\n%s\n%+v\n%+v", err, body, req.Changes, again.Changes)
		}
	})
}
