package model

import (
	"encoding/json"
	"strings"
	"time"
	"unicode"

	"github.com/dengji/dengji/model/idcard"
)

// Normalize returns a copy of fields with values in canonical form:
// surrounding spaces trimmed, ID numbers normalized and 15-digit ones
// upgraded, phone numbers reduced to 11 mobile digits or "0AREA-LOCAL",
// dates written YYYY-MM-DD, gender as M/F. Values it cannot make sense of
// are left as they are, for Validate to report. Callers normalize, then
// validate, then store.
func Normalize(typ string, fields map[string]json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(fields))
	for k, raw := range fields {
		out[k] = raw
		s, ok := stringValue(raw)
		if !ok || s == "" {
			continue
		}
		if n := normalizeValue(typ, k, s); n != s {
			out[k] = quote(n)
		}
	}
	return out
}

func normalizeValue(typ, key, s string) string {
	s = strings.TrimSpace(s)
	if keys(typ) == nil {
		return s
	}
	switch key {
	case "id_number", "proxy_id_number":
		return normalizeID(s)
	case "phone":
		if p, ok := normalizePhone(s); ok {
			return p
		}
	case "birth_date", "date":
		if d, ok := normalizeDate(s); ok {
			return d
		}
	case "gender":
		if typ == TypeRegistration {
			return normalizeGender(s)
		}
	}
	return s
}

func normalizeID(s string) string {
	n := idcard.Normalize(s)
	if len(n) == 15 {
		if up, err := idcard.Upgrade15(n); err == nil {
			return up
		}
	}
	return n
}

func normalizeGender(s string) string {
	switch strings.ToLower(s) {
	case "m", "male", "男":
		return "M"
	case "f", "female", "女":
		return "F"
	}
	return s
}

// foldDigits turns full-width digits and punctuation into ASCII.
func foldDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 0xFF01 && r <= 0xFF5E {
			return r - (0xFF01 - 0x21)
		}
		if r == '\u3000' {
			return ' '
		}
		return r
	}, s)
}

// normalizePhone accepts a mainland mobile number 1[3-9]XXXXXXXXX with an
// optional +86/86/0086 prefix, or a landline 0AA(A)-NNNNNNN(N) with spaces,
// hyphens or brackets anywhere. Mobiles come back as 11 digits, landlines
// as area code, hyphen, local number.
func normalizePhone(s string) (string, bool) {
	s = foldDigits(s)
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

var dateLayouts = []string{"2006-01-02", "2006-1-2", "2006/1/2", "2006.1.2", "20060102", "2006年1月2日"}

// normalizeDate accepts a few common ways to write a date and returns it
// as YYYY-MM-DD.
func normalizeDate(s string) (string, bool) {
	s = strings.ReplaceAll(foldDigits(s), " ", "")
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format(time.DateOnly), true
		}
	}
	return "", false
}

// parseDate parses a canonical YYYY-MM-DD date.
func parseDate(s string) (time.Time, bool) {
	t, err := time.Parse(time.DateOnly, s)
	return t, err == nil && len(s) == 10
}
