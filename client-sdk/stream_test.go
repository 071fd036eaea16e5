package sdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// readAll reads a document with jsonStream as a page is read: an object
// whose values are read whole, an array's elements one by one. A repeated
// key keeps its last value, as encoding/json does.
func readAll(doc string, r io.Reader) (map[string][]json.RawMessage, error) {
	if r == nil {
		r = strings.NewReader(doc)
	}
	s := newJSONStream(r)
	out := map[string][]json.RawMessage{}
	err := s.object(func(key string) error {
		out[key] = nil
		if c, err := s.peek(); err == nil && c == '[' {
			out[key] = []json.RawMessage{}
			return s.array(func() error {
				v, err := s.value()
				out[key] = append(out[key], v)
				return err
			})
		}
		v, err := s.value()
		out[key] = append(out[key], v)
		return err
	})
	return out, err
}

func TestJSONStream_Values(t *testing.T) {
	doc := ` { "records" : [ {"id":"a","f":{"name":"x\"}]{[\\"}} , {"id":"b","w":[1,[2,{}]],"n":-1.5e+3} ],` +
		`"empty":[], "obj":{}, "cursor":12345,"more":true,"null":null,"s":"\u4e2d\n"}`
	// One byte at a time, as a slow link delivers it, and whole.
	for name, r := range map[string]io.Reader{"whole": nil, "bytewise": iotest.OneByteReader(strings.NewReader(doc))} {
		got, err := readAll(doc, r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var want map[string]json.RawMessage
		if err := json.Unmarshal([]byte(doc), &want); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: keys %v, want %d", name, got, len(want))
		}
		if msg := sameValues(got, want); msg != "" {
			t.Fatalf("%s: %s", name, msg)
		}
	}
}

// sameValues compares what readAll read with what encoding/json read: an
// array element by element, anything else whole.
func sameValues(got map[string][]json.RawMessage, want map[string]json.RawMessage) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d keys, want %d", len(got), len(want))
	}
	for k, w := range want {
		elems := []json.RawMessage{w}
		if w[0] == '[' {
			elems = nil
			if err := json.Unmarshal(w, &elems); err != nil {
				return err.Error()
			}
		}
		if len(got[k]) != len(elems) {
			return fmt.Sprintf("%s has %d values, want %d", k, len(got[k]), len(elems))
		}
		for i := range elems {
			if !jsonEqual(got[k][i], elems[i]) {
				return fmt.Sprintf("%s[%d] = %s, want %s", k, i, got[k][i], elems[i])
			}
		}
	}
	return ""
}

func jsonEqual(a, b []byte) bool {
	var ca, cb bytes.Buffer
	return json.Compact(&ca, a) == nil && json.Compact(&cb, b) == nil && bytes.Equal(ca.Bytes(), cb.Bytes())
}

// A body cut anywhere is an unexpected EOF (the link's fault, tried again),
// and a body that is not JSON is errSyntax, not a protocol error.
func TestJSONStream_CutAndMalformed(t *testing.T) {
	doc := `{"records":[{"id":"a","f":{"n":"x"}},{"id":"b"}],"cursor":7,"more":false}`
	for i := range len(doc) - 1 {
		if _, err := readAll(doc[:i], nil); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("cut at %d (%q): %v, want an unexpected EOF", i, doc[:i], err)
		}
	}
	for _, bad := range []string{`<html>`, `{"a" 1}`, `{"a":1 "b":2}`, `{"a":[1 2]}`, `{"a":,}`, "{\"a\":\"x\ny\"}", `{1:2}`} {
		_, err := readAll(bad+strings.Repeat(" ", 8), nil)
		if err == nil || errors.Is(err, ErrProtocol) || errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%s: %v, want a syntax error", bad, err)
		}
	}
}

// Whatever encoding/json reads as an object, the stream reads to the same
// values.
func FuzzJSONStream(f *testing.F) {
	f.Add(`{"records":[{"id":"a"},{"id":"b","x":[1,"]"]}],"cursor":3,"more":true}`)
	f.Add(`{"a":"\\\"","b":{"c":[{}]},"d":-0.5E-2,"e":false}`)
	f.Fuzz(func(t *testing.T, doc string) {
		var want map[string]json.RawMessage
		// (Keys not in UTF-8 read differently: encoding/json mends them.)
		if !utf8.ValidString(doc) || json.Unmarshal([]byte(doc), &want) != nil || want == nil {
			return
		}
		got, err := readAll(doc, nil)
		if err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		if msg := sameValues(got, want); msg != "" {
			t.Fatalf("%q: %s", doc, msg)
		}
	})
}
