package model

import (
	"encoding/json"
	"fmt"
	"iter"
	"unicode/utf16"
	"unicode/utf8"
)

// The record contract is what every stored field value satisfies, checked on
// the way in by Validate (the device's, the server's and the import's): a
// JSON string or null, valid UTF-8 both as bytes and once unescaped, free of
// control characters, no longer than its field's Max, under a key its type
// declares, and no more keys than the type has fields. A value that keeps it
// reads back the same through any conforming JSON decoder, so stored bytes
// can be passed through to devices untouched.
//
// Control characters are C0 (U+0000-U+001F), DEL, C1 (U+0080-U+009F), the
// Unicode line and paragraph separators and the bidirectional embedding,
// override and isolate controls (which make a name display as another). A
// field declared with Lines (notes and details, where a registrar may type
// more than one line) may hold line feeds; no field holds tabs or carriage
// returns: Normalize turns them into spaces and line feeds.

// maxUnknownReported caps the unknown_field issues of one record: a record
// with a thousand made-up keys gets ten, and too_many_fields.
const maxUnknownReported = 10

// maxEscapedRune is the longest JSON spelling of one rune: a surrogate pair
// written as two \u escapes.
const maxEscapedRune = 12

// contractCodes are the codes of the record contract (CheckContract).
var contractCodes = map[string]bool{
	CodeUnknownType: true, CodeFieldType: true, CodeUnknownField: true, CodeTooLong: true,
	CodeInvalidUTF8: true, CodeControlChar: true, CodeTooManyFields: true,
}

// CheckContract reports how a record's fields break the record contract,
// without the type's rules (required fields, ID numbers, age): the check a
// record already stored must pass to be read back safely. Unlike Validate it
// does not need the record to be complete or current.
func CheckContract(typ string, fields iter.Seq2[string, json.RawMessage]) []Issue {
	var rep Report
	t := Lookup(typ)
	if t == nil {
		rep.errorf("", CodeUnknownType)
		return rep.Errors
	}
	readValues(t, fields, &rep)
	var out []Issue
	for _, is := range rep.Errors {
		if contractCodes[is.Code] {
			out = append(out, is)
		}
	}
	return out
}

// fieldValue decodes the value of field f; code is the contract it breaks
// ("" if none). A null or missing value is "".
func fieldValue(f Field, raw json.RawMessage) (s, code string) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", ""
	}
	if raw[0] != '"' {
		return "", CodeFieldType
	}
	if len(raw) > 2+f.Max*maxEscapedRune {
		return "", CodeTooLong // too long however it is spelled: not worth decoding
	}
	s, code = decodeString(raw)
	switch {
	case code != "":
		return "", code
	case utf8.RuneCountInString(s) > f.Max:
		return "", CodeTooLong
	case hasControl(s, f.Lines):
		return "", CodeControlChar
	}
	return s, ""
}

// decodeString decodes a JSON string strictly, the same for every decoder:
// the bytes must be valid UTF-8, the escapes JSON's, and a \u escape of a
// surrogate half of a pair. Decoders differ on the rest (encoding/json
// writes U+FFFD where another keeps the bytes or fails), so the contract
// refuses it (invalid_utf8). A value that is not a JSON string at all is
// field_type.
func decodeString(raw []byte) (string, string) {
	if s, ok := plainString(raw); ok {
		return s, ""
	}
	n := len(raw)
	if n < 2 || raw[0] != '"' || raw[n-1] != '"' {
		return "", CodeFieldType
	}
	if !utf8.Valid(raw) {
		return "", CodeInvalidUTF8
	}
	body := raw[1 : n-1]
	out := make([]byte, 0, len(body))
	for i := 0; i < len(body); {
		c := body[i]
		switch {
		case c == '"' || c < 0x20:
			return "", CodeFieldType // unescaped quote or control byte: not one JSON string
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(body) {
			return "", CodeFieldType
		}
		esc := body[i+1]
		i += 2
		switch esc {
		case '"', '\\', '/':
			out = append(out, esc)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(body, i)
			if !ok {
				return "", CodeFieldType
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if i+6 > len(body) || body[i] != '\\' || body[i+1] != 'u' {
					return "", CodeInvalidUTF8
				}
				lo, ok := hex4(body, i+2)
				if !ok {
					return "", CodeFieldType
				}
				if r = utf16.DecodeRune(r, lo); r == utf8.RuneError {
					return "", CodeInvalidUTF8
				}
				i += 6
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", CodeFieldType
		}
	}
	return string(out), ""
}

// hex4 reads the four hex digits of a \u escape at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// IsControl reports whether r is a control character of the record
// contract; a line feed is one unless lines is set.
func IsControl(r rune, lines bool) bool {
	switch {
	case r == '\n':
		return !lines
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r == 0x2028, r == 0x2029, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

func hasControl(s string, lines bool) bool {
	for _, r := range s {
		if IsControl(r, lines) {
			return true
		}
	}
	return false
}

// unknownFieldIssue names the field in its message. Keys reach here from
// outside: one that is not a plain field name is quoted and cut short.
func unknownFieldIssue(k string) Issue {
	name := k
	if !plainKey(k) {
		if len(name) > 64 {
			name = name[:64] + "…"
		}
		name = fmt.Sprintf("%+q", name)
	}
	return Issue{Field: name, Code: CodeUnknownField,
		Message: fmt.Sprintf("未知字段 %s / unknown field %s", name, name)}
}

// plainKey reports whether k is a field name as the sync layer allows them:
// a lower-case letter, then up to 62 lower-case letters, digits or
// underscores.
func plainKey(k string) bool {
	if len(k) == 0 || len(k) > 63 || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for i := 1; i < len(k); i++ {
		if c := k[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
