package model

import (
	"encoding/json"
	"strings"
	"time"
	"unicode"

	"github.com/dengji/dengji/model/idcard"
)

// Normalize returns a copy of fields with values in canonical form, each by
// its field's kind: surrounding spaces trimmed, full-width digits folded, ID
// numbers normalized and 15-digit ones upgraded, tabs and line breaks in
// text made spaces (line feeds where a field may hold them), phone numbers
// reduced to 11 mobile digits or "0AREA-LOCAL", dates written YYYY-MM-DD,
// gender as M/F.
// Values it cannot make sense of are left as they are, for Validate to
// report. Callers normalize, then validate, then store.
//
// These normalizers are the project's only ones: the duplicate check reads
// records through the same functions (NormalizeIDNumber, NormalizePhone,
// NormalizeDate, NormalizeGender, FoldWidth).
func Normalize(typ string, fields map[string]json.RawMessage) map[string]json.RawMessage {
	t := Lookup(typ)
	out := make(map[string]json.RawMessage, len(fields))
	for k, raw := range fields {
		out[k] = raw
		s, ok := stringValue(raw)
		if !ok || s == "" {
			continue
		}
		if n := normalizeValue(t, k, s); n != s {
			out[k] = quote(n)
		}
	}
	return out
}

// normalizeValue is the canonical form of s as the value of key in t.
func normalizeValue(t *Type, key, s string) string {
	s = strings.TrimSpace(s)
	if t == nil {
		return s
	}
	f, ok := t.Field(key)
	if !ok {
		return s
	}
	switch f.Kind {
	case KindText:
		return foldBreaks(s, f.Lines)
	case KindIDNumber:
		return NormalizeIDNumber(s)
	case KindPhone:
		if p, ok := NormalizePhone(s); ok {
			return p
		}
	case KindDate:
		if d, ok := NormalizeDate(s); ok {
			return d
		}
	case KindGender:
		return NormalizeGender(s)
	}
	return s
}

// foldBreaks turns tabs into spaces, and line breaks into line feeds in a
// field that may hold them (lines), else into spaces: a spreadsheet cell
// written on two lines is one line of text.
func foldBreaks(s string, lines bool) string {
	if !strings.ContainsAny(s, "\t\r\n") {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch r {
		case '\t':
			return ' '
		case '\r', '\n':
			if lines {
				return '\n'
			}
			return ' '
		}
		return r
	}, s)
}

// NormalizeIDNumber folds an ID number to its canonical 18 characters where
// it can: spaces and separators dropped, full-width digits folded, x upper
// case, a valid 15-digit legacy number upgraded.
func NormalizeIDNumber(s string) string {
	n := idcard.Normalize(s)
	if len(n) == 15 {
		if up, err := idcard.Upgrade15(n); err == nil {
			return up
		}
	}
	return n
}

// NormalizeGender returns M or F for the ways gender is written (M, male,
// 男, 男性, 1 as in GB/T 2261), "" for the ways of saying it is not known
// (未知, 不详, 0, 9), and anything else unchanged.
func NormalizeGender(s string) string {
	switch strings.ToLower(strings.TrimSpace(FoldWidthString(s))) {
	case "m", "male", "男", "男性", "1":
		return "M"
	case "f", "female", "女", "女性", "2":
		return "F"
	case "未知", "不详", "0", "9", "-", "?", "？":
		return ""
	}
	return s
}

// FoldWidth turns a full-width ASCII character into its half-width form and
// the ideographic space into a space.
func FoldWidth(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		return r - (0xFF01 - 0x21)
	case r == '\u3000':
		return ' '
	}
	return r
}

// FoldWidthString is FoldWidth over a string.
func FoldWidthString(s string) string {
	for _, r := range s {
		if FoldWidth(r) != r {
			return strings.Map(FoldWidth, s)
		}
	}
	return s
}

// NormalizePhone accepts a mainland mobile number 1[3-9]XXXXXXXXX with an
// optional +86/86/0086 prefix, or a landline 0AA(A)-NNNNNNN(N) with spaces,
// hyphens or brackets anywhere. Mobiles come back as 11 digits, landlines
// as area code, hyphen, local number; ok is false for anything else.
func NormalizePhone(s string) (string, bool) {
	s = FoldWidthString(s)
	var digits strings.Builder
	areaEnd := -1 // digit count at the first separator after a leading 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r == '+' && i == 0:
		case unicode.IsSpace(r) || r == '-' || r == '(' || r == ')' || r == '（' || r == '）' || unicode.Is(unicode.Pd, r):
			if areaEnd < 0 && digits.Len() > 0 {
				areaEnd = digits.Len()
			}
		default:
			return "", false
		}
	}
	d := digits.String()
	for _, p := range []string{"0086", "86"} {
		if len(d) == len(p)+11 && strings.HasPrefix(d, p) && d[len(p)] == '1' {
			d = d[len(p):]
		}
	}
	if len(d) == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9' {
		return d, true
	}
	if len(d) < 10 || len(d) > 12 || d[0] != '0' || d[1] == '0' {
		return "", false
	}
	area := 4 // 0AAA
	if d[1] == '1' || d[1] == '2' {
		area = 3 // 010, 02X
	}
	if areaEnd == 3 || areaEnd == 4 {
		area = areaEnd // the writer's own split wins
	}
	local := len(d) - area
	if local < 7 || local > 8 || d[area] == '0' {
		return "", false
	}
	return d[:area] + "-" + d[area:], true
}

var dateLayouts = []string{"2006-1-2", "2006/1/2", "2006.1.2", "20060102", "2006年1月2日"}

// NormalizeDate accepts the ways people write a date (1990-01-02, 1990/1/2,
// 1990.1.2, 19900102, 1990年1月2日, with full-width digits or spaces, or
// followed by a time as spreadsheets write it) and
// returns it as YYYY-MM-DD; ok is false if it is not a real date.
func NormalizeDate(s string) (string, bool) {
	if _, ok := parseDate(s); ok {
		return s, true // canonical already: the common case, kept cheap
	}
	s = strings.TrimSpace(FoldWidthString(s))
	if i := strings.IndexAny(s, " T"); i >= 8 && strings.Contains(s[i:], ":") {
		s = s[:i] // a spreadsheet's date and time: 1990-01-02 00:00:00
	}
	s = strings.ReplaceAll(s, " ", "")
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format(time.DateOnly), true
		}
	}
	return "", false
}

// parseDate parses a canonical YYYY-MM-DD date.
func parseDate(s string) (time.Time, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	y, ok1 := atoi(s[0:4])
	m, ok2 := atoi(s[5:7])
	d, ok3 := atoi(s[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > 31 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	return t, t.Day() == d && y >= 1000
}

func atoi(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
