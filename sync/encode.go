package sync

import (
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the record's JSON, the same document json.Marshal
// writes (keys of maps unordered), without reflection. Records are encoded
// on every push and every stored edit, so this is on the hot path.
func (r *Record) AppendJSON(b []byte) []byte {
	if b == nil {
		n := 128 + len(r.Writers)*96
		for k, f := range r.Fields {
			n += len(k) + len(f.Value) + len(f.Version) + 16
		}
		b = make([]byte, 0, n)
	}
	b = appendStringField(b, `{"id":`, r.ID)
	b = appendStringField(b, `,"type":`, r.Type)
	b = appendStringField(b, `,"district":`, r.District)
	b = append(b, `,"fields":`...)
	if r.Fields == nil {
		b = append(b, "null"...)
	} else {
		b = appendMap(b, r.Fields, func(b []byte, f Field) []byte {
			b = append(b, `{"v":`...)
			b = appendRaw(b, f.Value)
			return append(appendStringField(b, `,"ver":`, f.Version), '}')
		})
	}
	if len(r.Writers) > 0 {
		b = appendMap(append(b, `,"writers":`...), r.Writers, func(b []byte, w Writer) []byte {
			b = appendStringField(b, `{"device":`, w.Device)
			if w.Author != "" {
				b = appendStringField(b, `,"author":`, w.Author)
			}
			b = append(b, `,"hlc":`...)
			return append(w.HLC.appendJSON(b), '}')
		})
	}
	if r.Seq != 0 {
		b = append(b, `,"seq":`...)
		b = strconv.AppendUint(b, r.Seq, 10)
	}
	b = append(b, `,"hlc":`...)
	b = r.HLC.appendJSON(b)
	return append(b, '}')
}

// AppendJSON appends the change's JSON, the same document json.Marshal
// writes (keys of maps unordered), without reflection.
func (ch *Change) AppendJSON(b []byte) []byte {
	if b == nil {
		n := 256
		for k, v := range ch.Set {
			n += len(k) + len(v) + 4
		}
		for k, v := range ch.Base {
			n += len(k) + len(v) + 6
		}
		b = make([]byte, 0, n)
	}
	b = appendStringField(b, `{"id":`, ch.ID)
	b = appendStringField(b, `,"device":`, ch.Device)
	b = append(b, `,"n":`...)
	b = strconv.AppendUint(b, ch.Counter, 10)
	b = appendStringField(b, `,"record":`, ch.Record)
	b = appendStringField(b, `,"type":`, ch.Type)
	b = appendStringField(b, `,"district":`, ch.District)
	b = appendStringField(b, `,"op":`, string(ch.Op))
	if len(ch.Set) > 0 {
		b = appendMap(append(b, `,"set":`...), ch.Set, appendRaw)
	}
	if len(ch.Base) > 0 {
		b = appendMap(append(b, `,"base":`...), ch.Base, appendString)
	}
	b = append(b, `,"hlc":`...)
	b = ch.HLC.appendJSON(b)
	if ch.Author != "" {
		b = appendStringField(b, `,"author":`, ch.Author)
	}
	return append(b, '}')
}

// appendStringField appends a key (with its punctuation) and a string.
func appendStringField(b []byte, key, s string) []byte { return appendString(append(b, key...), s) }

// appendMap appends m as a JSON object, keys in order: the same fields in
// the same order from one record or change to the next compress far better
// in a batch or a page than Go's random map order.
func appendMap[V any](b []byte, m map[string]V, value func([]byte, V) []byte) []byte {
	b = append(b, '{')
	var buf [32]string
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendString(b, k), ':')
		b = value(b, m[k])
	}
	return append(b, '}')
}

func (h HLC) appendJSON(b []byte) []byte {
	b = append(b, '"')
	b = strconv.AppendUint(b, uint64(h), 10)
	return append(b, '"')
}

// appendRaw appends a JSON value as it is; a missing value is null, as
// json.Marshal writes a nil json.RawMessage. Values reach a record only
// through the JSON decoder or json.Marshal, and Change.Validate checks the
// rest, so they are valid JSON.
func appendRaw(b []byte, v json.RawMessage) []byte {
	if len(v) == 0 {
		return append(b, "null"...)
	}
	return append(b, v...)
}

// appendString appends s as a JSON string. IDs, codes and field names are
// plain ASCII and take the fast path; anything else is left to
// encoding/json, so escaping is exactly the standard library's.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= utf8.RuneSelf {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
