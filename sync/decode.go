package sync

import (
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"
)

// ParsePushRequest decodes a push body in the shape devices send, fast: field
// values are sliced from body, not copied, so body must not change while the
// request is in use. It returns ok=false for anything outside that shape
// (escaped keys, unknown or repeated fields, nulls, bad JSON); the caller then
// decodes body with a general JSON decoder, which also words the error. So
// ParsePushRequest never decides what is valid, only what is quick.
//
// Decoding the body was a quarter of the server's time per pushed record,
// most of it building maps one key at a time; this path sizes them once.
func ParsePushRequest(body []byte) (PushRequest, bool) {
	p := parser{b: body, keys: map[string]string{}}
	req, ok := p.pushRequest()
	if !ok {
		return PushRequest{}, false // nothing half-decoded for the general decoder to mix in
	}
	return req, true
}

func (p *parser) pushRequest() (req PushRequest, ok bool) {
	p.ws()
	if !p.byte('{') || !p.key("changes") || !p.byte('[') {
		return req, false
	}
	req.Changes = make([]Change, 0, min(len(p.b)/512+1, MaxPushBatch))
	if p.peek() != ']' {
		for {
			if len(req.Changes) == MaxPushBatch {
				return req, false // too many: CheckPushShape words it
			}
			var ch Change
			if !p.change(&ch) {
				return req, false
			}
			req.Changes = append(req.Changes, ch)
			if !p.byte(',') {
				break
			}
		}
	}
	if !p.byte(']') || !p.byte('}') {
		return req, false
	}
	return req, p.i == len(p.b)
}

type parser struct {
	b       []byte
	i       int
	keys    map[string]string // field names seen, so each is allocated once a batch
	members int               // object members read, bounded by maxPushMembers
}

// Bounds on a push body's structure, so that decoding one costs memory in
// proportion to what a device could mean to send, whatever its byte size. A
// change has about ten members, plus two for each field it writes.
const (
	maxPushMembers    = MaxPushBatch * 100
	maxPushContainers = MaxPushBatch * 16
)

// CheckPushShape scans a push body without decoding it and refuses
// (ErrPushTooLarge) one with more than MaxPushBatch changes, or more objects,
// arrays or members than such a batch needs. Run it before a general JSON
// decoder, which would otherwise build whatever structure the body
// describes: a few MiB of "{}," are millions of changes.
func CheckPushShape(b []byte) error {
	depth, containers, members, changes := 0, 0, 0, 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			depth++
			containers++
			if depth == 3 { // {"changes":[ {…} ]}
				changes++
			}
		case '}', ']':
			depth--
		case ':':
			members++
		}
	}
	if changes > MaxPushBatch || containers > maxPushContainers || members > maxPushMembers {
		return ErrPushTooLarge
	}
	return nil
}

func (p *parser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

// byte consumes c and the white space after it.
func (p *parser) byte(c byte) bool {
	if p.peek() != c {
		return false
	}
	p.i++
	p.ws()
	return true
}

// key consumes "want": and the white space around it.
func (p *parser) key(want string) bool {
	k, ok := p.str()
	return ok && string(k) == want && p.byte(':')
}

// str consumes a string with nothing to unescape and returns its contents.
func (p *parser) str() ([]byte, bool) {
	if p.peek() != '"' {
		return nil, false
	}
	start := p.i + 1
	ascii := true
	for i := start; i < len(p.b); i++ {
		switch c := p.b[i]; {
		case c == '"':
			s := p.b[start:i]
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			p.i = i + 1
			p.ws()
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

func (p *parser) string() (string, bool) {
	s, ok := p.str()
	return string(s), ok
}

// name is a map key, allocated once per parser.
func (p *parser) name(k []byte) (string, bool) {
	if p.members++; p.members > maxPushMembers {
		return "", false
	}
	if p.keys == nil {
		return string(k), true
	}
	s, seen := p.keys[string(k)]
	if !seen {
		s = string(k)
		p.keys[s] = s
	}
	return s, true
}

// uint consumes a decimal number, bare or (quoted) as HLCs are written.
func (p *parser) uint(quoted bool) (uint64, bool) {
	if quoted {
		if p.peek() != '"' {
			return 0, false
		}
		p.i++
	}
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	n, err := strconv.ParseUint(string(p.b[start:p.i]), 10, 64)
	if err != nil || (p.i-start > 1 && p.b[start] == '0') || (quoted && p.peek() != '"') {
		return 0, false
	}
	if quoted {
		p.i++
	}
	p.ws()
	return n, true
}

// raw consumes any JSON value and returns it, capped so that appending to it
// cannot write into body. skip only finds where the value ends; validJSON
// then checks all of it.
func (p *parser) raw() (json.RawMessage, bool) {
	v := p.skip()
	if len(v) == 0 || !validJSON(v) {
		return nil, false
	}
	p.ws()
	return v, true
}

// skip moves past the JSON value at p.i, not the white space after it, and
// returns it, capped, unchecked: it finds where a valid value ends.
func (p *parser) skip() []byte {
	start, depth := p.i, 0
scan:
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case '"':
			p.skipString()
			if depth == 0 {
				break scan
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				break scan // the end of the enclosing object
			}
			if depth--; depth == 0 {
				p.i++
				break scan
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				break scan
			}
		}
		p.i++
	}
	return p.b[start:p.i:p.i]
}

// skipString moves past the string starting at p.i, escapes and all.
func (p *parser) skipString() {
	for i := p.i + 1; i < len(p.b); i++ {
		switch p.b[i] {
		case '\\':
			i++
		case '"':
			p.i = i + 1
			return
		}
	}
	p.i = len(p.b)
}

// object consumes {"name": value, ...}, calling value for each member.
func (p *parser) object(value func(name string) bool) bool {
	return p.each(func(k []byte) bool {
		name, ok := p.name(k)
		return ok && value(name)
	})
}

// each is object with each member's name as it is in the body, not
// allocated (nor counted against maxPushMembers).
func (p *parser) each(value func(name []byte) bool) bool {
	if !p.byte('{') {
		return false
	}
	if p.byte('}') {
		return true
	}
	for {
		k, ok := p.str()
		if !ok || !p.byte(':') || !value(k) {
			return false
		}
		if !p.byte(',') {
			return p.byte('}')
		}
	}
}

// members consumes an object into a map, refusing a name given twice and
// more names than a change may carry.
func members[V any](p *parser, size int, value func() (V, bool)) (map[string]V, bool) {
	m := make(map[string]V, size)
	ok := p.object(func(name string) bool {
		if _, dup := m[name]; dup || len(m) > MaxFields {
			return false
		}
		v, ok := value()
		m[name] = v
		return ok
	})
	return m, ok
}

// fields consumes an object whose members are among names, each given at
// most once, calling read for each to consume its value.
func (p *parser) fields(names []string, read func(name string) bool) bool {
	var seen uint64
	return p.object(func(k string) bool {
		i := slices.Index(names, k)
		if i < 0 || seen&(1<<i) != 0 {
			return false
		}
		seen |= 1 << i
		return read(k)
	})
}

// hlc consumes a clock reading, quoted as HLCs are written or bare.
func (p *parser) hlc() (HLC, bool) {
	n, ok := p.uint(p.peek() == '"')
	return HLC(n), ok
}

var changeNames = []string{"id", "device", "n", "record", "type", "district", "op", "set", "base", "hlc", "author"}

func (p *parser) change(ch *Change) bool {
	return p.fields(changeNames, func(k string) (ok bool) {
		switch k {
		case "id":
			ch.ID, ok = p.string()
		case "device":
			ch.Device, ok = p.string()
		case "n":
			ch.Counter, ok = p.uint(false)
		case "record":
			ch.Record, ok = p.string()
		case "type":
			ch.Type, ok = p.string()
		case "district":
			ch.District, ok = p.string()
		case "op":
			var op string
			op, ok = p.string()
			ch.Op = Op(op)
		case "set":
			ch.Set, ok = members(p, 16, p.raw)
		case "base":
			ch.Base, ok = members(p, 0, p.string)
		case "hlc":
			ch.HLC, ok = p.hlc()
		case "author":
			ch.Author, ok = p.string()
		}
		return ok
	})
}

// ParseRecord decodes a stored record in the shape Record's encoder writes,
// fast, into r, and reports whether it could; on false r is unchanged and
// the caller decodes data with a general JSON decoder (store.DecodeRecord
// does), which decides what is valid. Field values are sliced from one copy
// of data, so data may be reused (a bbolt value outlives no transaction).
//
// Decoding stored records was most of what a pull cost the server: a
// general decoder builds the fields' map one key at a time through
// reflection.
func ParseRecord(data []byte, r *Record) bool {
	p := parser{b: append([]byte(nil), data...)}
	var rec Record
	p.ws()
	if !p.record(&rec) || p.i != len(p.b) {
		return false
	}
	*r = rec
	return true
}

// ScanRecordValues reads of a stored record in the shape Record's encoder
// writes its ID, type, district and sequence, and into vals the raw JSON
// value of each field named in names (nil for a field it lacks), all sliced
// from data, not copied; ok is false for anything outside that shape, and
// the caller decodes data the long way. What it does not return it skips
// without checking it, and a value it returns is checked by the caller:
// the bulk read of a scan that needs a few values of millions of records
// (the duplicate check), where decoding whole records cost most of it.
func ScanRecordValues(data []byte, names []string, vals [][]byte) (id, typ, district []byte, seq uint64, ok bool) {
	clear(vals)
	p := parser{b: data}
	p.ws()
	ok = p.each(func(k []byte) (ok bool) {
		switch string(k) {
		case "id":
			id, ok = p.str()
		case "type":
			typ, ok = p.str()
		case "district":
			district, ok = p.str()
		case "seq":
			seq, ok = p.uint(false)
		case "fields":
			ok = p.each(func(name []byte) bool {
				i := slices.IndexFunc(names, func(n string) bool { return n == string(name) })
				return p.each(func(k []byte) bool {
					v := p.skip()
					if string(k) == "v" && i >= 0 {
						vals[i] = v
					}
					p.ws()
					return len(v) > 0
				})
			})
		default:
			ok = len(p.skip()) > 0
			p.ws()
		}
		return ok
	})
	return id, typ, district, seq, ok && p.i == len(p.b)
}

var (
	recordNames = []string{"id", "type", "district", "fields", "writers", "seq", "hlc"}
	fieldNames  = []string{"v", "ver"}
	writerNames = []string{"device", "author", "hlc"}
)

func (p *parser) record(r *Record) bool {
	return p.fields(recordNames, func(k string) (ok bool) {
		switch k {
		case "id":
			r.ID, ok = p.string()
		case "type":
			r.Type, ok = p.string()
		case "district":
			r.District, ok = p.string()
		case "fields":
			r.Fields, ok = members(p, 16, p.field)
		case "writers":
			r.Writers, ok = members(p, 1, p.writer)
		case "seq":
			r.Seq, ok = p.uint(false)
		case "hlc":
			r.HLC, ok = p.hlc()
		}
		return ok
	})
}

func (p *parser) field() (f Field, ok bool) {
	ok = p.fields(fieldNames, func(k string) (ok bool) {
		if k == "v" {
			f.Value, ok = p.raw()
		} else {
			f.Version, ok = p.string()
		}
		return ok
	})
	return f, ok
}

func (p *parser) writer() (w Writer, ok bool) {
	ok = p.fields(writerNames, func(k string) (ok bool) {
		switch k {
		case "device":
			w.Device, ok = p.string()
		case "author":
			w.Author, ok = p.string()
		case "hlc":
			w.HLC, ok = p.hlc()
		}
		return ok
	})
	return w, ok
}
