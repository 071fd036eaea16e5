// Package jsonx is the project's JSON library: every package that encodes or
// decodes JSON on a hot path (stored records, push and pull bodies, the
// device's file) goes through it, so the library behind it (today
// github.com/goccy/go-json, about twice as fast as encoding/json here) can
// be measured against another and swapped in one place. Values are the
// same as encoding/json's: RawMessage is encoding/json's type, and a test
// holds the two libraries to reading back the same values.
package jsonx

import (
	"encoding/json"
	"io"

	gojson "github.com/goccy/go-json"
)

// RawMessage is a raw encoded JSON value (encoding/json's type).
type RawMessage = json.RawMessage

// Decoder reads JSON values from a stream.
type Decoder = gojson.Decoder

// Marshal encodes v, map keys sorted, as encoding/json does.
func Marshal(v any) ([]byte, error) { return gojson.Marshal(v) }

// MarshalUnordered encodes v with map keys in no particular order: faster,
// for what is stored or sent and never compared as bytes.
func MarshalUnordered(v any) ([]byte, error) {
	return gojson.MarshalWithOption(v, gojson.UnorderedMap())
}

// Unmarshal decodes data into v.
func Unmarshal(data []byte, v any) error { return gojson.Unmarshal(data, v) }

// NewDecoder reads JSON values from r.
func NewDecoder(r io.Reader) *Decoder { return gojson.NewDecoder(r) }

// Valid reports whether data is valid JSON.
func Valid(data []byte) bool { return gojson.Valid(data) }
