package sync

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// FormatColumns names the columnar push encoding a device sends with
// ?format=col1 on POST /v1/push and /v1/sync: a batch's changes as
// columns, each field's values together (all names, then all ID numbers,
// …), which gzip compresses a fifth better than the same changes one
// object after another (over EDGE the uplink is the narrowest part):
//
//	{"device":"…","id":["…",…],"n":[N,1,1,…],"record":["…",…],
//	 "type":["…",…],"district":["…",…],"op":["create",…],"hlc":[H,1,3,…],
//	 "set":{"name":{"v":["李碧辉",…]},"phone":{"rows":[3,1],"v":["…","…"]}},
//	 "base":{"name":{"rows":[0],"v":["<version>"]}}}
//
// One device sends a batch. The counters and HLCs are differences from
// the change before (from 0 for the first). A field's column lists its
// values in the order of the changes that write it; "rows" names those
// changes, as differences from the one before (the first from 0), and is
// left out when every change does. DecodeColumns gives back exactly the
// changes AppendColumns was given (Author aside: the server sets it).
const FormatColumns = "col1"

// columns is the document of FormatColumns.
type columns struct {
	Device   string                                  `json:"device"`
	ID       []string                                `json:"id"`
	Counter  []int64                                 `json:"n"`
	Record   []string                                `json:"record"`
	Type     []string                                `json:"type"`
	District []string                                `json:"district"`
	Op       []Op                                    `json:"op"`
	HLC      []int64                                 `json:"hlc"`
	Set      map[string]fieldColumn[json.RawMessage] `json:"set,omitempty"`
	Base     map[string]fieldColumn[string]          `json:"base,omitempty"`
}

type fieldColumn[V any] struct {
	Rows []int `json:"rows,omitempty"`
	V    []V   `json:"v"`
}

// AppendColumns appends the FormatColumns document of chs, which one
// device made, to b.
func AppendColumns(b []byte, chs []Change) []byte {
	device := ""
	if len(chs) > 0 {
		device = chs[0].Device
	}
	b = appendStringField(b, `{"device":`, device)
	b = appendColumn(append(b, `,"id":`...), chs, func(b []byte, ch *Change) []byte { return appendString(b, ch.ID) })
	var last uint64
	b = appendColumn(append(b, `,"n":`...), chs, func(b []byte, ch *Change) []byte {
		b, last = strconv.AppendInt(b, int64(ch.Counter-last), 10), ch.Counter
		return b
	})
	b = appendColumn(append(b, `,"record":`...), chs, func(b []byte, ch *Change) []byte { return appendString(b, ch.Record) })
	b = appendColumn(append(b, `,"type":`...), chs, func(b []byte, ch *Change) []byte { return appendString(b, ch.Type) })
	b = appendColumn(append(b, `,"district":`...), chs, func(b []byte, ch *Change) []byte { return appendString(b, ch.District) })
	b = appendColumn(append(b, `,"op":`...), chs, func(b []byte, ch *Change) []byte { return appendString(b, string(ch.Op)) })
	var lastHLC HLC
	b = appendColumn(append(b, `,"hlc":`...), chs, func(b []byte, ch *Change) []byte {
		b, lastHLC = strconv.AppendInt(b, int64(ch.HLC-lastHLC), 10), ch.HLC
		return b
	})
	b = appendFieldColumns(b, `,"set":`, chs, func(ch *Change) map[string]json.RawMessage { return ch.Set }, appendRaw)
	b = appendFieldColumns(b, `,"base":`, chs, func(ch *Change) map[string]string { return ch.Base }, appendString)
	return append(b, '}')
}

func appendColumn(b []byte, chs []Change, value func([]byte, *Change) []byte) []byte {
	b = append(b, '[')
	for i := range chs {
		if i > 0 {
			b = append(b, ',')
		}
		b = value(b, &chs[i])
	}
	return append(b, ']')
}

// appendFieldColumns appends the columns of the fields chs write (Set) or
// name a base of (Base), keys in order; nothing if none does.
func appendFieldColumns[V any](b []byte, key string, chs []Change, of func(*Change) map[string]V,
	value func([]byte, V) []byte) []byte {
	var keys []string
	for i := range chs {
		for k := range of(&chs[i]) {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	if len(keys) == 0 {
		return b
	}
	slices.Sort(keys)
	b = append(b, key...)
	for i, k := range keys {
		if i == 0 {
			b = append(b, '{')
		} else {
			b = append(b, ',')
		}
		b = append(appendString(b, k), ':', '{')
		var rows []int
		for j := range chs {
			if _, ok := of(&chs[j])[k]; ok {
				rows = append(rows, j)
			}
		}
		if len(rows) < len(chs) {
			b = append(b, `"rows":[`...)
			last := 0
			for n, r := range rows {
				if n > 0 {
					b = append(b, ',')
				}
				b, last = strconv.AppendInt(b, int64(r-last), 10), r
			}
			b = append(b, "],"...)
		}
		b = append(b, `"v":[`...)
		for n, r := range rows {
			if n > 0 {
				b = append(b, ',')
			}
			b = value(b, of(&chs[r])[k])
		}
		b = append(b, "]}"...)
	}
	return append(b, '}')
}

// CheckColumnsShape scans a FormatColumns body without decoding it and
// refuses (ErrPushTooLarge) one with more values or structure than a batch
// of MaxPushBatch changes needs, before a JSON decoder builds it.
func CheckColumnsShape(b []byte) error {
	containers, values := 0, 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			containers++
		case ',', ':':
			values++
		}
	}
	if containers > maxPushContainers || values > maxPushMembers {
		return ErrPushTooLarge
	}
	return nil
}

// changes gives back the changes of a decoded FormatColumns document.
func (c *columns) changes() ([]Change, error) {
	n := len(c.ID)
	switch {
	case n > MaxPushBatch:
		return nil, ErrPushTooLarge
	case len(c.Counter) != n || len(c.Record) != n || len(c.Type) != n || len(c.District) != n ||
		len(c.Op) != n || len(c.HLC) != n:
		return nil, fmt.Errorf("%w: id, n, record, type, district, op and hlc must hold one value a change", ErrBadColumns)
	}
	chs := make([]Change, n)
	var counter uint64
	var hlc HLC
	for i := range chs {
		counter += uint64(c.Counter[i])
		hlc += HLC(c.HLC[i])
		chs[i] = Change{ID: c.ID[i], Device: c.Device, Counter: counter, Record: c.Record[i], Type: c.Type[i],
			District: c.District[i], Op: c.Op[i], HLC: hlc}
	}
	if err := fillColumns(chs, "set", c.Set, func(ch *Change) *map[string]json.RawMessage { return &ch.Set }); err != nil {
		return nil, err
	}
	if err := fillColumns(chs, "base", c.Base, func(ch *Change) *map[string]string { return &ch.Base }); err != nil {
		return nil, err
	}
	return chs, nil
}

func fillColumns[V any](chs []Change, name string, cols map[string]fieldColumn[V], of func(*Change) *map[string]V) error {
	for k, col := range cols {
		if col.Rows == nil && len(col.V) != len(chs) || col.Rows != nil && len(col.Rows) != len(col.V) {
			return fmt.Errorf("%w: %s.%s must hold a value for each change it names", ErrBadColumns, name, k)
		}
		row := 0
		for j, v := range col.V {
			if col.Rows != nil {
				if row += col.Rows[j]; col.Rows[j] < 0 || j > 0 && col.Rows[j] == 0 || row >= len(chs) {
					return fmt.Errorf("%w: %s.%s names changes out of order or out of the batch", ErrBadColumns, name, k)
				}
			} else {
				row = j
			}
			m := of(&chs[row])
			if *m == nil {
				*m = make(map[string]V, len(cols))
			}
			(*m)[k] = v
		}
	}
	return nil
}

// DecodeColumns decodes a FormatColumns body with decode (a JSON decoder
// that refuses unknown fields and words its errors) into the changes it
// holds. It refuses too much structure (ErrPushTooLarge) before decoding,
// and columns that do not line up (ErrBadColumns).
func DecodeColumns(body []byte, decode func([]byte, any) error) (PushRequest, error) {
	if err := CheckColumnsShape(body); err != nil {
		return PushRequest{}, err
	}
	var c columns
	if err := decode(body, &c); err != nil {
		return PushRequest{}, err
	}
	chs, err := c.changes()
	return PushRequest{Changes: chs}, err
}
