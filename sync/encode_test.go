package sync

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
)

// The hand-written encoders must write what json.Marshal writes, up to the
// order of map keys: decoding both gives the same value.
func TestAppendJSON_MatchesMarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for i := 0; i < 500; i++ {
		rec, ch := randomRecord(rng), randomChange(rng)
		checkSame(t, rec.AppendJSON(nil), rec, &Record{})
		checkSame(t, ch.AppendJSON(nil), ch, &Change{})
	}
	// Appending keeps what the buffer held.
	ch := randomChange(rng)
	if got := ch.AppendJSON([]byte("x")); !bytes.HasPrefix(got, []byte(`x{"id":`)) {
		t.Fatalf("AppendJSON dropped the prefix: %.20s", got)
	}
}

func checkSame[T any](t *testing.T, got []byte, v *T, into *T) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(got) {
		t.Fatalf("invalid JSON:\n%s", got)
	}
	var fromWant T
	if err := json.Unmarshal(want, &fromWant); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, into); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*into, fromWant) {
		t.Fatalf("AppendJSON and json.Marshal differ:\n got %s\nwant %s", got, want)
	}
}

// strings that need escaping, or not.
var samples = []string{"", "a", "430102001001", "王秀英", `quote"d`, `back\slash`, "tab\tnew\nline",
	"\x01ctl", "<html>&amp;", "bad\xffutf8", "\u2028sep", "emoji😀"}

func pick(rng *rand.Rand) string { return samples[rng.IntN(len(samples))] }

func randomValue(rng *rand.Rand) json.RawMessage {
	switch rng.IntN(5) {
	case 0:
		return nil
	case 1:
		return json.RawMessage(`true`)
	case 2:
		return json.RawMessage(`[1,{"a":"b"},null]`)
	default:
		b, _ := json.Marshal(pick(rng))
		return b
	}
}

func randomRecord(rng *rand.Rand) *Record {
	r := &Record{ID: pick(rng), Type: pick(rng), District: pick(rng), Seq: rng.Uint64N(3), HLC: HLC(rng.Uint64())}
	if rng.IntN(4) > 0 {
		r.Fields = map[string]Field{}
		for j := rng.IntN(4); j >= 0; j-- {
			r.Fields[pick(rng)] = Field{Value: randomValue(rng), Version: pick(rng)}
		}
	}
	if rng.IntN(3) > 0 {
		r.Writers = map[string]Writer{}
		for j := rng.IntN(3); j >= 0; j-- {
			r.Writers[pick(rng)] = Writer{Device: pick(rng), Author: pick(rng), HLC: HLC(rng.Uint64())}
		}
	}
	return r
}

func randomChange(rng *rand.Rand) *Change {
	ch := &Change{ID: pick(rng), Device: pick(rng), Counter: rng.Uint64(), Record: pick(rng), Type: pick(rng),
		District: pick(rng), Op: Op(pick(rng)), HLC: HLC(rng.Uint64()), Author: pick(rng)}
	if rng.IntN(3) > 0 {
		ch.Set = map[string]json.RawMessage{}
		for j := rng.IntN(4); j >= 0; j-- {
			ch.Set[pick(rng)] = randomValue(rng)
		}
	}
	if rng.IntN(2) > 0 {
		ch.Base = map[string]string{}
		for j := rng.IntN(4); j >= 0; j-- {
			ch.Base[pick(rng)] = pick(rng)
		}
	}
	return ch
}

func TestValidJSON_AgreesWithStdlib(t *testing.T) {
	for _, s := range []string{`""`, `"a"`, `"王"`, `"a"b"`, `"a\"`, `"a\nb"`, "\"a\nb\"", "\"\xff\"", `"`, `"a`,
		`true`, `nul`, `[1,2]`, `{"a":1}`, ``, ` "a"`} {
		if got, want := validJSON([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("validJSON(%q) = %v, json.Valid says %v", s, got, want)
		}
	}
}
