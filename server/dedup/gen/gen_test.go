package gen

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/dengji/dengji/model/idcard"
)

func TestGenerate_Deterministic(t *testing.T) {
	a, ta := Generate(DefaultConfig(2000, 7))
	b, tb := Generate(DefaultConfig(2000, 7))
	if len(a) != 2000 || !slices.Equal(a, b) || !slices.Equal(ta, tb) {
		t.Fatal("same seed gave different rolls")
	}
	var fa, fb bytes.Buffer
	NewRoll(DefaultConfig(2000, 7)).WriteRegistrations(&fa)
	NewRoll(DefaultConfig(2000, 7)).WriteRegistrations(&fb)
	if !bytes.Equal(fa.Bytes(), fb.Bytes()) {
		t.Fatal("same seed wrote different files")
	}
	for _, r := range a[:20] {
		t.Logf("%+v", r)
	}
}

func BenchmarkGenerate1M(b *testing.B) {
	for b.Loop() {
		Generate(DefaultConfig(1000000, 1))
	}
}

// Two persons never share a resident ID (duplicates of one person do).
func TestGenerate_IDsBelongToOnePerson(t *testing.T) {
	recs, truth := Generate(DefaultConfig(200000, 1))
	owner := map[string]string{}
	for i, r := range recs {
		if len(r.IDNumber) != 18 || r.IDNumber[0] > '9' {
			continue // blank, legacy, full-width
		}
		if o, ok := owner[r.IDNumber]; ok && o != truth[i] {
			// a mistyped ID fails its checksum, so it cannot be another's valid ID
			if !validID(r.IDNumber) {
				continue
			}
			t.Fatalf("ID %s given to persons %s and %s", r.IDNumber, o, truth[i])
		}
		owner[r.IDNumber] = truth[i]
	}
}

func validID(id string) bool {
	c, ok := idcard.CheckDigit(id[:17])
	return ok && c == id[17]
}

// realCounties reads the county codes of the reference data, or the
// generated table's when the data is absent.
func realCounties(t *testing.T) map[string]bool {
	out := map[string]bool{}
	_, file, _, _ := runtime.Caller(0)
	f, err := os.Open(filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "shared", "data", "divisions", "areas.csv"))
	if err != nil {
		t.Logf("areas.csv absent (%v): checking against the generated table", err)
		for _, c := range cityTable {
			for _, k := range c.counties {
				out[k.code] = true
			}
		}
		return out
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows[1:] {
		out[r[0]] = true
	}
	return out
}

// A roll is shaped like one county or a few neighbouring ones of one city.
func TestNewRoll_Shape(t *testing.T) {
	real := realCounties(t)
	for _, tc := range []struct{ n, maxCounties int }{{5000, 1}, {100000, 2}, {400000, 4}} {
		r := NewRoll(DefaultConfig(tc.n, 5))
		if len(r.Counties) == 0 || len(r.Counties) > tc.maxCounties {
			t.Errorf("%d rows: counties %v", tc.n, r.Counties)
		}
		codes := map[string]District{}
		lengths := map[int]int{}
		kinds := map[string]int{}
		for _, c := range r.Counties {
			if !real[c] || c[:4] != r.City {
				t.Errorf("county %s not a real county of city %s", c, r.City)
			}
		}
		for _, d := range r.Districts {
			if _, dup := codes[d.Code]; dup {
				t.Errorf("district %s twice", d.Code)
			}
			codes[d.Code] = d
			lengths[len(d.Code)]++
			kinds[d.Kind]++
			if !slices.Contains(r.Counties, d.Code[:6]) || !real[d.Code[:6]] {
				t.Errorf("district %s does not begin with a county of the roll", d.Code)
			}
			if d.Name == "" || d.Town != "" && !strings.HasPrefix(d.Code, d.Town) {
				t.Errorf("district %+v", d)
			}
			n := d.Code[9:]
			switch d.Kind {
			case KindCommunity:
				if len(d.Code) != 12 || n < "001" || n > "199" || d.Town != d.Code[:9] {
					t.Errorf("community %+v", d)
				}
			case KindVillage:
				if len(d.Code) != 12 || n < "200" || n > "399" || d.Town != d.Code[:9] {
					t.Errorf("village %+v", d)
				}
			case KindWorkUnit:
				if d.Town == "" && (len(d.Code) != 10 || d.Code[6] != '9') || d.Town != "" && d.Code[9] != '9' {
					t.Errorf("work unit %+v", d)
				}
			default:
				t.Errorf("kind %+v", d)
			}
		}
		if kinds[KindWorkUnit] == 0 || kinds[KindVillage]+kinds[KindCommunity] == 0 || tc.n >= 100000 && lengths[10] == 0 {
			t.Errorf("%d rows: kinds %v, code lengths %v", tc.n, kinds, lengths)
		}
		for _, rec := range r.Records {
			if _, ok := codes[rec.District]; !ok {
				t.Fatalf("record %s in unknown district %s", rec.ID, rec.District)
			}
		}
		t.Logf("%d rows: city %s counties %v, %d districts %v, code lengths %v", tc.n, r.City, r.Counties,
			len(r.Districts), kinds, lengths)
	}
}

// The truth is exact: records of one person share their Ref, and the
// labels say which registrations are second ones.
func TestNewRoll_Truth(t *testing.T) {
	r := NewRoll(DefaultConfig(100000, 2))
	if len(r.Records) != 100000 || len(r.Truth) != 100000 || len(r.Labels) != 100000 {
		t.Fatal("lengths")
	}
	first := map[string]int{}
	for i, rec := range r.Records {
		if rec.Ref != "P"+r.Truth[i] {
			t.Fatalf("record %s: ref %s, truth %s", rec.ID, rec.Ref, r.Truth[i])
		}
		l := r.Labels[i]
		j, seen := first[r.Truth[i]]
		switch {
		case !seen:
			first[r.Truth[i]] = i
			if l.Role != RoleHome && l.Role != RoleUnit {
				t.Fatalf("record %s: first registration with role %s", rec.ID, l.Role)
			}
		case l.Role == RoleHome || l.Role == RoleUnit:
			t.Fatalf("record %s: second registration with role %s", rec.ID, l.Role)
		case rec.District == r.Records[j].District:
			t.Fatalf("record %s: registered twice in %s", rec.ID, rec.District)
		}
		if l.Relation != "" && (l.Related == "" || l.Related == r.Truth[i]) {
			t.Fatalf("record %s: relation %+v", rec.ID, l)
		}
	}
	s := r.Stats()
	if s.Relations[RelTwin] == 0 || s.Relations[RelRelative] == 0 || s.Relations[RelNamesake] == 0 {
		t.Errorf("hard non-duplicates missing: %v", s.Relations)
	}
	for _, role := range []string{RoleMigrant, RoleWorkUnit, RoleMoved, RoleUnit} {
		if s.Roles[role] == 0 {
			t.Errorf("no %s registrations: %v", role, s.Roles)
		}
	}
	// Namesakes share name and birth date; twins birth date and address.
	byPerson := map[string]int{}
	for i := range r.Records {
		if _, ok := byPerson[r.Truth[i]]; !ok {
			byPerson[r.Truth[i]] = i
		}
	}
	for i, l := range r.Labels {
		if l.Role != RoleHome || l.Noise != "" {
			continue
		}
		o, ok := byPerson[l.Related]
		if !ok || r.Labels[o].Noise != "" {
			continue
		}
		a, b := r.Records[i], r.Records[o]
		if l.Relation == RelNamesake && (a.Name != b.Name || a.BirthDate != b.BirthDate) ||
			l.Relation == RelTwin && (a.BirthDate != b.BirthDate || a.HouseholdAddress != b.HouseholdAddress) {
			t.Errorf("%s %+v of %+v", l.Relation, a, b)
		}
	}
}

// The dirt of real rolls is there, at rates like theirs.
func TestNewRoll_Dirt(t *testing.T) {
	r := NewRoll(DefaultConfig(200000, 4))
	s := r.Stats()
	t.Logf("noise %v", s.Noise)
	for tag, band := range map[string][2]float64{
		"no_id": {0.02, 0.06}, "id_typo": {0.001, 0.02}, "id_swap": {0.0005, 0.01}, "id15": {0.005, 0.04},
		"id_fullwidth": {0.0005, 0.01}, "id_lower_x": {0.0005, 0.02}, "id_space": {0.0005, 0.01},
		"name_space": {0.003, 0.03}, "homophone": {0.001, 0.02}, "surname": {0.0005, 0.01},
		"traditional": {0.003, 0.03}, "lunar": {0.0005, 0.01}, "no_gender": {0.01, 0.05},
		"no_birth": {0.005, 0.03}, "birth_typo": {0.002, 0.02},
	} {
		rate := float64(s.Noise[tag]) / float64(s.Records)
		if rate < band[0] || rate > band[1] {
			t.Errorf("%s: %.4f of rows, want %.4f-%.4f", tag, rate, band[0], band[1])
		}
	}
	bad := s.Noise[NoiseNoName] + s.Noise[NoiseNoIDNoBirth]
	if bad == 0 || float64(bad) > 0.005*float64(s.Records) {
		t.Errorf("%d bad rows of %d", bad, s.Records)
	}
	var migrants, noID, fullWidth, lowerX, mismatch int
	for i, rec := range r.Records {
		l := r.Labels[i]
		noise := strings.Split(l.Noise, "+")
		if (rec.Name == "") != slices.Contains(noise, NoiseNoName) {
			t.Fatalf("record %s: name %q, noise %s", rec.ID, rec.Name, l.Noise)
		}
		if rec.IDNumber == "" && rec.BirthDate == "" && !slices.Contains(noise, NoiseNoIDNoBirth) {
			t.Fatalf("record %s lacks ID and birth date by chance", rec.ID)
		}
		if l.Role == RoleMigrant {
			migrants++
			if rec.IDNumber == "" {
				noID++
			}
		}
		if strings.ContainsRune(rec.IDNumber, '０') || strings.ContainsRune(rec.IDNumber, '１') {
			fullWidth++
		}
		if strings.HasSuffix(rec.IDNumber, "x") {
			lowerX++
		}
		if len(rec.IDNumber) == 18 && validID(rec.IDNumber) && rec.BirthDate != "" &&
			strings.ReplaceAll(rec.BirthDate, "-", "") != rec.IDNumber[6:14] {
			mismatch++
		}
	}
	if share := float64(noID) / float64(migrants); share < 0.2 || share > 1.0/3 {
		t.Errorf("%d of %d migrants' second registrations without ID", noID, migrants)
	}
	if fullWidth == 0 || lowerX == 0 || mismatch == 0 {
		t.Errorf("full-width %d, lower-case x %d, birth date disagreeing with a valid ID %d", fullWidth, lowerX, mismatch)
	}
}

// The files: a header Chinese or English, dates in mixed formats, gender
// 男/女, kinds in the words offices use.
func TestRoll_Files(t *testing.T) {
	dir := t.TempDir()
	var zhHeader, enHeader, zhDistricts, enDistricts int
	dates := map[string]int{}
	kinds := map[string]bool{}
	for seed := uint64(1); seed <= 12; seed++ {
		r := NewRoll(DefaultConfig(3000, seed))
		files := FilesFor(filepath.Join(dir, "roll.csv"))
		if err := r.WriteFiles(files); err != nil {
			t.Fatal(err)
		}
		rows := readCSV(t, files.Registrations)
		switch strings.Join(rows[0], ",") {
		case strings.Join(HeaderZh, ","):
			zhHeader++
		case strings.Join(HeaderEn, ","):
			enHeader++
		default:
			t.Fatalf("header %q", rows[0])
		}
		if len(rows) != 3001 {
			t.Fatalf("%d rows", len(rows))
		}
		for _, row := range rows[1:] {
			if row[1] != "男" && row[1] != "女" && row[1] != "" {
				t.Fatalf("gender %q", row[1])
			}
			switch d := row[2]; {
			case d == "":
			case strings.Contains(d, "年"):
				dates["年月日"]++
			case strings.Contains(d, "/"):
				dates["slash"]++
			case strings.Contains(d, "-"):
				dates["iso"]++
			case len(d) == 8:
				dates["compact"]++
			default:
				t.Fatalf("date %q", d)
			}
		}
		ds := readCSV(t, files.Districts)
		switch strings.Join(ds[0], ",") {
		case "code,name,kind,parent":
			enDistricts++
		case "代码,名称,类型,上级":
			zhDistricts++
		default:
			t.Fatalf("districts header %q", ds[0])
		}
		for _, d := range ds[1:] {
			kinds[d[2]] = true
		}
		truth := readCSV(t, files.Truth)
		if strings.Join(truth[0], ",") != strings.Join(TruthHeader, ",") || len(truth) != 3001 || truth[1][0] != rows[1][8] {
			t.Fatalf("truth %q", truth[:2])
		}
	}
	if zhHeader == 0 || enHeader == 0 || zhDistricts == 0 || enDistricts == 0 || len(dates) != 4 {
		t.Errorf("headers zh %d en %d, districts zh %d en %d, dates %v", zhHeader, enHeader, zhDistricts, enDistricts, dates)
	}
	for _, k := range []string{"村", "村委会", "village", "社区", "居委会", "community", "单位", "单位选区", "unit", "work_unit"} {
		if !kinds[k] {
			t.Errorf("kind word %s never written (%v)", k, kinds)
		}
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// Tiny rolls finish too.
func TestNewRoll_Tiny(t *testing.T) {
	for _, n := range []int{1, 2, 10, 50, 200, 500} {
		for seed := uint64(1); seed <= 20; seed++ {
			if r := NewRoll(DefaultConfig(n, seed)); len(r.Records) != n {
				t.Fatalf("%d rows, seed %d: %d records", n, seed, len(r.Records))
			}
		}
	}
}
