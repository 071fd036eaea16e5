package sync

import (
	"encoding/json"
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
	b = append(b, `{"id":`...)
	b = appendString(b, r.ID)
	b = append(b, `,"type":`...)
	b = appendString(b, r.Type)
	b = append(b, `,"district":`...)
	b = appendString(b, r.District)
	b = append(b, `,"fields":`...)
	if r.Fields == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '{')
		first := true
		for k, f := range r.Fields {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendString(b, k)
			b = append(b, `:{"v":`...)
			b = appendRaw(b, f.Value)
			b = append(b, `,"ver":`...)
			b = appendString(b, f.Version)
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	if len(r.Writers) > 0 {
		b = append(b, `,"writers":{`...)
		first := true
		for id, w := range r.Writers {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendString(b, id)
			b = append(b, `:{"device":`...)
			b = appendString(b, w.Device)
			if w.Author != "" {
				b = append(b, `,"author":`...)
				b = appendString(b, w.Author)
			}
			b = append(b, `,"hlc":`...)
			b = w.HLC.appendJSON(b)
			b = append(b, '}')
		}
		b = append(b, '}')
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
	b = append(b, `{"id":`...)
	b = appendString(b, ch.ID)
	b = append(b, `,"device":`...)
	b = appendString(b, ch.Device)
	b = append(b, `,"n":`...)
	b = strconv.AppendUint(b, ch.Counter, 10)
	b = append(b, `,"record":`...)
	b = appendString(b, ch.Record)
	b = append(b, `,"type":`...)
	b = appendString(b, ch.Type)
	b = append(b, `,"district":`...)
	b = appendString(b, ch.District)
	b = append(b, `,"op":`...)
	b = appendString(b, string(ch.Op))
	if len(ch.Set) > 0 {
		b = append(b, `,"set":{`...)
		first := true
		for k, v := range ch.Set {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendString(b, k)
			b = append(b, ':')
			b = appendRaw(b, v)
		}
		b = append(b, '}')
	}
	if len(ch.Base) > 0 {
		b = append(b, `,"base":{`...)
		first := true
		for k, v := range ch.Base {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, v)
		}
		b = append(b, '}')
	}
	b = append(b, `,"hlc":`...)
	b = ch.HLC.appendJSON(b)
	if ch.Author != "" {
		b = append(b, `,"author":`...)
		b = appendString(b, ch.Author)
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
