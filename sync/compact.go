package sync

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/dengji/dengji/internal/jsonx"
)

// FormatCompact names the compact record encoding a device asks for with
// ?format=c1. A record's fields mostly share one version (a create writes
// them all), so instead of a change ID per field it lists each version
// once, with its writer, and names the version of only the fields that do
// not have the first one:
//
//	{"id":…,"type":…,"district":…,"seq":N,"hlc":"H",
//	 "w":[{"v":"<change ID>","d":"<device>","a":"<author>","h":"H"},…],
//	 "f":{"name":"…",…},"fw":{"phone":1}}
//
// The first writer is the version most fields have. It decodes to exactly
// the Record it was made from (DecodeCompact).
const FormatCompact = "c1"

type compactWriter struct {
	Version string `json:"v"`
	Device  string `json:"d,omitempty"`
	Author  string `json:"a,omitempty"`
	HLC     HLC    `json:"h,omitempty"`
}

type compactRecord struct {
	ID       string                     `json:"id"`
	Type     string                     `json:"type"`
	District string                     `json:"district"`
	Seq      uint64                     `json:"seq,omitempty"`
	HLC      HLC                        `json:"hlc"`
	Writers  []compactWriter            `json:"w"`
	Fields   map[string]json.RawMessage `json:"f"`
	FieldW   map[string]int             `json:"fw,omitempty"`
}

// AppendCompactJSON appends the record in the compact encoding.
func (r *Record) AppendCompactJSON(b []byte) []byte {
	versions := r.versionsByUse()
	index := make(map[string]int, len(versions))
	for i, v := range versions {
		index[v] = i
	}
	b = appendStringField(b, `{"id":`, r.ID)
	b = appendStringField(b, `,"type":`, r.Type)
	b = appendStringField(b, `,"district":`, r.District)
	if r.Seq != 0 {
		b = strconv.AppendUint(append(b, `,"seq":`...), r.Seq, 10)
	}
	b = r.HLC.appendJSON(append(b, `,"hlc":`...))
	b = append(b, `,"w":[`...)
	for i, v := range versions {
		if i > 0 {
			b = append(b, ',')
		}
		w := r.Writers[v]
		b = appendStringField(b, `{"v":`, v)
		if w.Device != "" {
			b = appendStringField(b, `,"d":`, w.Device)
		}
		if w.Author != "" {
			b = appendStringField(b, `,"a":`, w.Author)
		}
		if w.HLC != 0 {
			b = w.HLC.appendJSON(append(b, `,"h":`...))
		}
		b = append(b, '}')
	}
	b = append(b, `],"f":`...)
	b = appendMap(b, r.Fields, func(b []byte, f Field) []byte { return appendRaw(b, f.Value) })
	first := true
	for k, f := range r.Fields {
		if i := index[f.Version]; i != 0 {
			if first {
				b = append(b, `,"fw":{`...)
			} else {
				b = append(b, ',')
			}
			first = false
			b = strconv.AppendInt(append(appendString(b, k), ':'), int64(i), 10)
		}
	}
	if !first {
		b = append(b, '}')
	}
	return append(b, '}')
}

// versionsByUse lists the record's field versions, the most used first
// (ties by version, so the encoding is deterministic).
func (r *Record) versionsByUse() []string {
	uses := map[string]int{}
	for _, f := range r.Fields {
		uses[f.Version]++
	}
	out := make([]string, 0, len(uses))
	for v := range uses {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b string) int {
		if uses[a] != uses[b] {
			return uses[b] - uses[a]
		}
		if a < b {
			return -1
		}
		if a > b {
			return 1
		}
		return 0
	})
	return out
}

// DecodeCompact reads a record in the compact encoding.
func DecodeCompact(b []byte) (*Record, error) {
	var c compactRecord
	if err := jsonx.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	return c.record()
}

func (c *compactRecord) record() (*Record, error) {
	r := &Record{ID: c.ID, Type: c.Type, District: c.District, Seq: c.Seq, HLC: c.HLC,
		Fields: make(map[string]Field, len(c.Fields))}
	for k, v := range c.Fields {
		i := c.FieldW[k]
		if i < 0 || i >= len(c.Writers) {
			return nil, errCompactWriter
		}
		r.Fields[k] = Field{Value: v, Version: c.Writers[i].Version}
	}
	for _, w := range c.Writers {
		if w.Device == "" && w.Author == "" && w.HLC == 0 {
			continue
		}
		if r.Writers == nil {
			r.Writers = make(map[string]Writer, len(c.Writers))
		}
		r.Writers[w.Version] = Writer{Device: w.Device, Author: w.Author, HLC: w.HLC}
	}
	return r, nil
}

// UnmarshalCompactJSON reads a record in the compact encoding into r.
func (r *Record) UnmarshalCompactJSON(b []byte) error {
	rec, err := DecodeCompact(b)
	if err == nil {
		*r = *rec
	}
	return err
}
