package idcard

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

var testNow = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// withCheck appends the check character to 17 digits.
func withCheck(t testing.TB, first17 string) string {
	t.Helper()
	c, ok := CheckDigit(first17)
	if !ok {
		t.Fatalf("CheckDigit(%q) not ok", first17)
	}
	return first17 + string(c)
}

// validNumbers are real-shaped numbers: region codes from the table, real
// dates, check characters computed by CheckDigit (verified against the
// well-known examples in TestCheckDigit).
func validNumbers(t testing.TB) []string {
	out := []string{"11010519491231002X", "440524188001010014"}
	for _, f := range []string{
		"11010119800101001", // 东城区, male
		"31011519900229002", // not a leap year: skipped below
		"32010219920229003", // leap day 1992
		"44200019881111123", // 中山市 (city-level code, no counties)
		"11010419750601004", // 宣武区, retired 2010
		"51010720080512078",
		"65010220000101999",
	} {
		if f[6:14] == "19900229" {
			continue
		}
		out = append(out, withCheck(t, f))
	}
	return out
}

func TestCheckDigit(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"11010519491231002", "X"}, // GB 11643 example
		{"44052418800101001", "4"}, // GB 11643 example
	} {
		c, ok := CheckDigit(tt.in)
		if !ok || string(c) != tt.want {
			t.Errorf("CheckDigit(%q) = %q, %v; want %q", tt.in, c, ok, tt.want)
		}
	}
	for _, bad := range []string{"", "1101051949123100", "110105194912310022", "1101051949123100A"} {
		if _, ok := CheckDigit(bad); ok {
			t.Errorf("CheckDigit(%q) ok, want not ok", bad)
		}
	}
}

func TestNormalize(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"11010519491231002x", "11010519491231002X"},
		{"１１０１０５１９４９１２３１００２ｘ", "11010519491231002X"},
		{" 110105 19491231 002X ", "11010519491231002X"},
		{"110105-19491231-002X", "11010519491231002X"},
		{"110105\u300019491231\u200b002Ｘ", "11010519491231002X"},
		{"110105#1949", "110105#1949"},
	} {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParse_OK(t *testing.T) {
	id, err := parseAt("11010519491231002x", testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := ID{Number: "11010519491231002X", Region: "110105", Birth: time.Date(1949, 12, 31, 0, 0, 0, 0, time.UTC), Male: false}
	if id != want {
		t.Errorf("got %+v, want %+v", id, want)
	}
	for _, n := range validNumbers(t) {
		if _, err := parseAt(n, testNow); err != nil {
			t.Errorf("parse %s: %v", n, err)
		}
	}
	id, _ = parseAt("440524188001010014", testNow)
	if !id.Male {
		t.Error("440524188001010014: want male")
	}
}

func TestParse_Err(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want error
		code string
	}{
		{"", ErrLength, "id_length"},
		{"1101051949123100", ErrLength, "id_length"},
		{"1101051949123100211", ErrLength, "id_length"},
		{"11010519491231002A", ErrFormat, "id_format"},
		{"1101051949X231002X", ErrFormat, "id_format"},
		{"110105#949123100", ErrFormat, "id_format"},
		{"110105194912310021", ErrChecksum, "id_checksum"},
		{withCheck(t, "11010519490231002"), ErrBirthDate, "id_birth_date"}, // 31 Feb
		{withCheck(t, "11010519000229002"), ErrBirthDate, "id_birth_date"}, // 1900 not leap
		{withCheck(t, "11010518791231002"), ErrBirthDate, "id_birth_date"}, // before 1880
		{withCheck(t, "11010520260302002"), ErrBirthDate, "id_birth_date"}, // future
		{withCheck(t, "11010520260301002"), nil, ""},                       // born today (in China)
		{withCheck(t, "11010519491300002"), ErrBirthDate, "id_birth_date"}, // month 13
		{"11010549123100", ErrLength, "id_length"},
		{"11010549123100A", ErrFormat, "id_format"},
		{"110105491331002", ErrBirthDate, "id_birth_date"}, // legacy, month 13
	} {
		_, err := parseAt(tt.in, testNow)
		if tt.want == nil {
			if err != nil {
				t.Errorf("Parse(%q) = %v", tt.in, err)
			}
			continue
		}
		if !errors.Is(err, tt.want) {
			t.Errorf("Parse(%q) = %v, want %v", tt.in, err, tt.want)
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Code != tt.code {
			t.Errorf("Parse(%q): code %v, want %s", tt.in, e, tt.code)
		}
	}
}

// MOD 11-2 detects every single-character error and every transposition of
// adjacent characters; assert it exhaustively on every valid vector.
func TestParse_ChecksumCatchesSingleErrorsAndTranspositions(t *testing.T) {
	for _, n := range validNumbers(t) {
		for i := 0; i < 18; i++ {
			alphabet := "0123456789"
			if i == 17 {
				alphabet += "X"
			}
			for j := 0; j < len(alphabet); j++ {
				if alphabet[j] == n[i] {
					continue
				}
				b := []byte(n)
				b[i] = alphabet[j]
				if c, _ := CheckDigit(string(b[:17])); c == b[17] {
					t.Errorf("%s: substitution at %d -> %s passes the checksum", n, i, b)
				}
			}
		}
		for i := 0; i < 17; i++ {
			if n[i] == n[i+1] {
				continue
			}
			b := []byte(n)
			b[i], b[i+1] = b[i+1], b[i]
			if i == 16 && b[16] == 'X' {
				continue // not a digit string any more: caught as ErrFormat
			}
			if c, _ := CheckDigit(string(b[:17])); c == b[17] {
				t.Errorf("%s: transposition at %d -> %s passes the checksum", n, i, b)
			}
		}
	}
}

func TestUpgrade15(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"110105491231002", "11010519491231002X"},
		{"440524800101001", "440524198001010013"},
		{"１１０１０５ ４９１２３１ ００２", "11010519491231002X"},
	} {
		got, err := Upgrade15(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Upgrade15(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := Upgrade15("11010519491231002X"); !errors.Is(err, ErrLength) {
		t.Errorf("Upgrade15(18 chars) = %v, want ErrLength", err)
	}
	if _, err := Upgrade15("11010549123100X"); !errors.Is(err, ErrFormat) {
		t.Errorf("Upgrade15(with X) = %v, want ErrFormat", err)
	}
	id, err := parseAt("110105491231002", testNow)
	if err != nil || !id.Legacy || id.Number != "11010519491231002X" || id.Male {
		t.Errorf("Parse(15) = %+v, %v", id, err)
	}
}

func TestRegionKnown(t *testing.T) {
	for _, tt := range []struct {
		code           string
		year           int
		known, current bool
	}{
		{"110105", 1990, true, true},  // 朝阳区, still exists
		{"130171", 2015, true, true},  // only in today's list (development zone)
		{"110104", 1975, true, false}, // 宣武区 (merged into 西城区 2010): born before the history
		{"110104", 2005, true, false}, // existed in 2005
		{"110104", 2015, false, false},
		{"110225", 1984, true, false},  // 房山县, 1982-1985 only
		{"110225", 1990, false, false}, // gone before this person was born
		{"130521", 2019, true, false},  // 邢台县, abolished 2020
		{"130521", 2022, false, false},
		{"330103", 2023, true, false}, // 下城区: in the history's last year, gone today
		{"999999", 1970, false, false},
		{"110199", 1970, false, false},
		{"11010", 1970, false, false},
	} {
		known, current := RegionKnown(tt.code, tt.year)
		if known != tt.known || current != tt.current {
			t.Errorf("RegionKnown(%s, %d) = %v, %v; want %v, %v", tt.code, tt.year, known, current, tt.known, tt.current)
		}
	}
	if got := RegionName("110104"); got != "宣武区" {
		t.Errorf("RegionName(110104) = %q", got)
	}
}

func TestCheckRegion(t *testing.T) {
	for _, tt := range []struct {
		first17 string
		current bool
		err     error
	}{
		{"11010519491231002", true, nil},
		{"11010419750601004", false, nil},
		{"11010420150601004", false, ErrRegion},
		{"99999919750601004", false, ErrRegion},
	} {
		id, err := parseAt(withCheck(t, tt.first17), testNow)
		if err != nil {
			t.Fatal(err)
		}
		current, err := CheckRegion(id)
		if current != tt.current || !errors.Is(err, tt.err) {
			t.Errorf("CheckRegion(%s) = %v, %v; want %v, %v", id.Number, current, err, tt.current, tt.err)
		}
	}
}

func TestCandidates(t *testing.T) {
	for _, n := range validNumbers(t) {
		// Every single substitution that breaks the checksum, and every
		// adjacent transposition, must list the original among its repairs.
		var broken []string
		for i := 0; i < 17; i++ {
			b := []byte(n)
			b[i] = '0' + (b[i]-'0'+1)%10
			broken = append(broken, string(b))
			if n[i] != n[i+1] && n[i+1] != 'X' {
				b := []byte(n)
				b[i], b[i+1] = b[i+1], b[i]
				broken = append(broken, string(b))
			}
		}
		for _, bad := range broken {
			got := candidatesAt(bad, testNow)
			if !slices.Contains(got, n) {
				t.Errorf("Candidates(%s) = %v, want to contain %s", bad, got, n)
			}
			for _, c := range got {
				id, err := parseAt(c, testNow)
				if err != nil {
					t.Errorf("Candidates(%s): %s does not parse: %v", bad, c, err)
					continue
				}
				if known, _ := RegionKnown(id.Region, id.Birth.Year()); !known {
					t.Errorf("Candidates(%s): %s has an unknown region", bad, c)
				}
			}
		}
	}
	if got := candidatesAt("11010519491231002X", testNow); got != nil {
		t.Errorf("Candidates(valid) = %v, want nil", got)
	}
	if got := candidatesAt("1101051949", testNow); got != nil {
		t.Errorf("Candidates(short) = %v, want nil", got)
	}
}

func ExampleCandidates() {
	// 11010519491231002X with its 8th and 9th digits swapped.
	fmt.Println(slices.Contains(Candidates("11010591491231002X"), "11010519491231002X"))
	// Output: true
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"11010519491231002X", "110105491231002", "１１０１０５", "", "X", "11010519491231002", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := Parse(s)
		if err == nil {
			if len(id.Number) != 18 || id.Number[:6] != id.Region {
				t.Fatalf("Parse(%q) = %+v", s, id)
			}
			again, err := Parse(id.Number)
			if err != nil || again.Number != id.Number {
				t.Fatalf("Parse(Parse(%q).Number) = %+v, %v", s, again, err)
			}
			CheckRegion(id)
		} else {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) error %v has no code", s, err)
			}
		}
		Candidates(s)
	})
}

func TestCompose(t *testing.T) {
	id := Compose("110105", "19491231", 2)
	if id != "11010519491231002X" {
		t.Fatalf("Compose = %q", id)
	}
	if _, err := Parse(id); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][3]any{{"1101", "19491231", 2}, {"110105", "1949123", 2}, {"110105", "19491231", 1000}, {"11010x", "19491231", 2}} {
		if got := Compose(bad[0].(string), bad[1].(string), bad[2].(int)); got != "" {
			t.Errorf("Compose%v = %q, want empty", bad, got)
		}
	}
}

// Normalize's shortcut (digits and capitals are kept as they are) answers
// what the rune by rune fold answers.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"11010519491231002X", "11010519491231002x", "１１０１０５", "110 105-1949", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Normalize(s), normalizeRunes(s); got != want {
			t.Fatalf("Normalize(%q) = %q, the fold gives %q", s, got, want)
		}
	})
}

// go test ./model/idcard -run X -bench Normalize: a canonical number
// through the shortcut and through the fold.
func BenchmarkNormalize(b *testing.B) {
	for name, fn := range map[string]func(string) string{"shortcut": Normalize, "fold": normalizeRunes} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				fn("11010519491231002X")
			}
		})
	}
}
