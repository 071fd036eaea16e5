// Package idcard parses and checks resident ID numbers (居民身份证号, GB 11643):
// 18 characters, a six-digit region code, an eight-digit birth date, a
// three-digit sequence number whose parity gives the sex, and an ISO 7064
// MOD 11-2 check character; or the legacy 15-digit form without century and
// check character.
package idcard

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
)

// ID is a parsed, valid resident ID number.
type ID struct {
	Number string    // 18 characters, normalized
	Region string    // the first six digits
	Birth  time.Time // UTC midnight
	Male   bool      // the 17th digit is odd
	Legacy bool      // given as a 15-digit number and upgraded
}

// Earliest birth date accepted.
var minBirth = time.Date(1880, 1, 1, 0, 0, 0, 0, time.UTC)

// weights[i] = 2^(17-i) mod 11.
var weights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const checkChars = "10X98765432"

// Normalize folds full-width digits and letters to ASCII, upper-cases
// letters (x becomes X), and drops spaces, dashes, dots, slashes and
// invisible format characters. Anything else is kept, so that Parse can
// reject it.
func Normalize(s string) string {
	if canonical(s) { // the common case, a few million times in a duplicate check
		return s
	}
	return normalizeRunes(s)
}

func normalizeRunes(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r >= 0xFF01 && r <= 0xFF5E { // full-width ASCII block
			r -= 0xFF01 - 0x21
		}
		switch {
		case unicode.IsSpace(r), unicode.Is(unicode.Pd, r), unicode.Is(unicode.Cf, r):
			continue
		case strings.ContainsRune("._/\\,·、，。", r):
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// canonical reports whether s has only ASCII digits and capital letters,
// which Normalize keeps as they are.
func canonical(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// Compose builds an 18-character number from a region code (6 digits), a
// birth date (YYYYMMDD) and a sequence number (0-999, odd for a man),
// computing the check character; "" if the parts are not digits of those
// lengths. Generators and tests use it.
func Compose(region, birth string, seq int) string {
	first17 := fmt.Sprintf("%s%s%03d", region, birth, seq)
	c, ok := CheckDigit(first17)
	if !ok || len(region) != 6 || len(birth) != 8 || seq < 0 || seq > 999 {
		return ""
	}
	return first17 + string(c)
}

// CheckDigit returns the MOD 11-2 check character for the first 17 digits
// of an ID number; ok is false unless first17 is exactly 17 ASCII digits.
func CheckDigit(first17 string) (c byte, ok bool) { return checkDigit(first17) }

func checkDigit[T string | []byte](first17 T) (c byte, ok bool) {
	if len(first17) != 17 {
		return 0, false
	}
	sum := 0
	for i := 0; i < 17; i++ {
		d := first17[i]
		if d < '0' || d > '9' {
			return 0, false
		}
		sum += int(d-'0') * weights[i]
	}
	return checkChars[sum%11], true
}

// Upgrade15 converts a legacy 15-digit number to 18 characters: "19" goes
// before the two-digit year and the check character is appended. The input
// is normalized first; the birth date is not checked (Parse does that).
func Upgrade15(id15 string) (string, error) {
	s := Normalize(id15)
	if len(s) != 15 {
		return "", fmt.Errorf("%w: legacy number has %d characters, want 15", ErrLength, len(s))
	}
	if !allDigits(s) {
		return "", ErrFormat
	}
	first17 := s[:6] + "19" + s[6:]
	c, _ := CheckDigit(first17)
	return first17 + string(c), nil
}

// Parse normalizes s, upgrades a 15-digit number, and checks length,
// characters, check character and birth date. It does not consult the
// region table; see CheckRegion and RegionKnown.
func Parse(s string) (ID, error) {
	return parseAt(s, time.Now())
}

func parseAt(s string, now time.Time) (ID, error) {
	n := Normalize(s)
	legacy := false
	switch len(n) {
	case 18:
	case 15:
		up, err := Upgrade15(n)
		if err != nil {
			return ID{}, err
		}
		n, legacy = up, true
	default:
		if !validChars(n) {
			return ID{}, ErrFormat
		}
		return ID{}, fmt.Errorf("%w: got %d characters", ErrLength, len(n))
	}
	if !allDigits(n[:17]) || !(isDigit(n[17]) || n[17] == 'X') {
		return ID{}, ErrFormat
	}
	if c, _ := CheckDigit(n[:17]); c != n[17] {
		return ID{}, ErrChecksum
	}
	birth, ok := birthDate(n, now)
	if !ok {
		return ID{}, fmt.Errorf("%w: %s", ErrBirthDate, n[6:14])
	}
	return ID{
		Number: n,
		Region: n[:6],
		Birth:  birth,
		Male:   (n[16]-'0')%2 == 1,
		Legacy: legacy,
	}, nil
}

// chinaTime is UTC+8, the zone of the calendar that birth dates are written in.
var chinaTime = time.FixedZone("CST", 8*60*60)

// birthDate reads digits 7-14 of an 18-character number as a date between
// 1880-01-01 and today in China.
func birthDate(n string, now time.Time) (time.Time, bool) {
	y, m, d := now.In(chinaTime).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	t, err := time.Parse("20060102", n[6:14])
	if err != nil || t.Before(minBirth) || t.After(today) {
		return time.Time{}, false
	}
	return t, true
}

// Candidates returns the plausible repairs of an 18-character number that
// fails its checksum: every single-character substitution and every swap
// of adjacent characters that gives a valid check character, a real birth
// date and a region code that existed (RegionKnown) by that birth year.
// The result is sorted; it is nil if s already passes the checksum or is
// not 18 digits (the last may be X).
func Candidates(s string) []string {
	return candidatesAt(s, time.Now())
}

func candidatesAt(s string, now time.Time) []string {
	n := Normalize(s)
	if len(n) != 18 || !allDigits(n[:17]) || !(isDigit(n[17]) || n[17] == 'X') {
		return nil
	}
	if c, _ := CheckDigit(n[:17]); c == n[17] {
		return nil
	}
	// Of the variants, those with a valid check character are few (one
	// digit at each place gives it): only they become strings.
	var out []string
	try := func(b []byte) {
		if c, _ := checkDigit(b[:17]); c != b[17] {
			return
		}
		if c := string(b); c != n && !slices.Contains(out, c) && plausible(c, now) {
			out = append(out, c)
		}
	}
	b := []byte(n)
	for i := 0; i < 18; i++ {
		orig := b[i]
		alphabet := "0123456789"
		if i == 17 {
			alphabet += "X"
		}
		for j := 0; j < len(alphabet); j++ {
			b[i] = alphabet[j]
			try(b)
		}
		b[i] = orig
	}
	for i := 0; i < 17; i++ {
		if b[i] == b[i+1] {
			continue
		}
		b[i], b[i+1] = b[i+1], b[i]
		try(b)
		b[i], b[i+1] = b[i+1], b[i]
	}
	sort.Strings(out)
	return out
}

func plausible(n string, now time.Time) bool {
	if !allDigits(n[:17]) {
		return false
	}
	if c, _ := CheckDigit(n[:17]); c != n[17] {
		return false
	}
	birth, ok := birthDate(n, now)
	if !ok {
		return false
	}
	known, _ := RegionKnown(n[:6], birth.Year())
	return known
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// validChars reports whether s holds only ASCII digits and X.
func validChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) && s[i] != 'X' {
			return false
		}
	}
	return true
}

// EmbeddedBirth reads the birth date held in an ID number that may fail its
// other checks (a mistyped check digit, say): the date of an 18-character
// number, or of a 15-digit legacy one, if it is a real, past date.
func EmbeddedBirth(s string) (time.Time, bool) {
	n := Normalize(s)
	switch {
	case len(n) == 18 && allDigits(n[:17]):
		return birthDate(n, time.Now())
	case len(n) == 15 && allDigits(n):
		return birthDate(n[:6]+"19"+n[6:], time.Now())
	}
	return time.Time{}, false
}
