package store

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"fmt"

	json "github.com/dengji/dengji/internal/jsonx"

	dsync "github.com/dengji/dengji/sync"
)

// DecodeRecord decodes a stored record, for every backend: in the shape
// this server writes, with dsync.ParseRecord; else with goccy/go-json, the
// fast general decoder, and, where it gives up, field by field
// (decodeDeep). Before the
// record contract (model.CheckContract) a field could hold any JSON value
// encoding/json accepted alone, nested up to 10,000 deep: deeper than
// goccy/go-json reads, and, inside a record, deeper than encoding/json
// reads too. Such records must stay readable, to be reported (dengji check)
// and deleted. A record that keeps the contract reads the same through
// either path (the contract fuzz test proves it). A record no path reads is
// ErrUnreadable.
func DecodeRecord(data []byte, r *dsync.Record) error {
	if dsync.ParseRecord(data, r) {
		return nil
	}
	if err := json.Unmarshal(data, r); err == nil {
		return nil
	}
	*r = dsync.Record{}
	fields, err := decodeDeep(data, "fields", r)
	if err == nil {
		r.Fields, err = recordFields(fields)
	}
	if err != nil {
		*r = dsync.Record{}
		return fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	return nil
}

// DecodeChange is DecodeRecord for the change log, whose changes carried
// the same values.
func DecodeChange(data []byte, ch *dsync.Change) error {
	if err := json.Unmarshal(data, ch); err == nil {
		return nil
	}
	*ch = dsync.Change{}
	set, err := decodeDeep(data, "set", ch)
	if err == nil && set != nil {
		ch.Set = make(map[string]stdjson.RawMessage, len(set))
		for _, kv := range set {
			ch.Set[kv.key] = bytes.Clone(kv.val)
		}
	}
	if err != nil {
		*ch = dsync.Change{}
		return fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	return nil
}

// decodeDeep decodes the object data into v but for its member deep, whose
// members it returns undecoded (nil for null or absent). Values are found by
// counting brackets, not by recursion, so no depth is too deep.
func decodeDeep(data []byte, deep string, v any) ([]member, error) {
	top, err := splitObject(data)
	if err != nil {
		return nil, err
	}
	rest := []byte{'{'}
	var inner []member
	for _, m := range top {
		if m.key == deep {
			if string(m.val) != "null" {
				if inner, err = splitObject(m.val); err != nil {
					return nil, fmt.Errorf("%s: %w", deep, err)
				}
			}
			continue
		}
		if len(rest) > 1 {
			rest = append(rest, ',')
		}
		k, _ := stdjson.Marshal(m.key)
		rest = append(append(append(rest, k...), ':'), m.val...)
	}
	if err := json.Unmarshal(append(rest, '}'), v); err != nil {
		return nil, err
	}
	return inner, nil
}

// recordFields reads a record's fields, each {"v": value, "ver": version}.
func recordFields(ms []member) (map[string]dsync.Field, error) {
	if ms == nil {
		return nil, nil
	}
	out := make(map[string]dsync.Field, len(ms))
	for _, m := range ms {
		parts, err := splitObject(m.val)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", m.key, err)
		}
		var f dsync.Field
		for _, p := range parts {
			switch p.key {
			case "v":
				f.Value = bytes.Clone(p.val)
			case "ver":
				if err := json.Unmarshal(p.val, &f.Version); err != nil {
					return nil, fmt.Errorf("field %q: %w", m.key, err)
				}
			}
		}
		out[m.key] = f
	}
	return out, nil
}

type member struct {
	key string
	val []byte // as stored, only valid while data is
}

var errSyntax = errors.New("store: malformed JSON")

// splitObject splits a JSON object into its members, values undecoded.
func splitObject(b []byte) ([]member, error) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, errSyntax
	}
	i = skipSpace(b, i+1)
	out := []member{}
	if i < len(b) && b[i] == '}' {
		return out, trailing(b, i+1)
	}
	for {
		end, ok := skipString(b, i)
		if !ok {
			return nil, errSyntax
		}
		var key string
		if err := stdjson.Unmarshal(b[i:end], &key); err != nil {
			return nil, err
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return nil, errSyntax
		}
		i = skipSpace(b, i+1)
		end, ok = skipValue(b, i)
		if !ok || end == i {
			return nil, errSyntax
		}
		out = append(out, member{key, b[i:end]})
		i = skipSpace(b, end)
		switch {
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		case i < len(b) && b[i] == '}':
			return out, trailing(b, i+1)
		default:
			return nil, errSyntax
		}
	}
}

func trailing(b []byte, i int) error {
	if skipSpace(b, i) != len(b) {
		return errSyntax
	}
	return nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the end of the string starting at b[i].
func skipString(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}

// skipValue returns the end of the value starting at b[i], counting
// brackets. It finds where a value ends; whether the value is valid JSON
// was checked when it was written.
func skipValue(b []byte, i int) (int, bool) {
	depth := 0
	for i < len(b) {
		switch c := b[i]; {
		case c == '"':
			j, ok := skipString(b, i)
			if !ok {
				return 0, false
			}
			i = j
		case c == '[' || c == '{':
			depth++
			i++
			continue
		case c == ']' || c == '}':
			if depth == 0 {
				return i, true // the end of the object around a scalar
			}
			depth--
			i++
		case depth == 0 && (c == ',' || c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return i, true
		default:
			i++
			continue
		}
		if depth == 0 {
			return i, true
		}
	}
	return i, depth == 0
}
