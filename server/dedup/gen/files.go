package gen

import (
	"encoding/csv"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
)

// Files are the paths a roll is written to.
type Files struct {
	Registrations, Districts, Truth string
}

// FilesFor names the files of a roll written to path (FILE.csv):
// FILE.csv, FILE.districts.csv and FILE.truth.csv.
func FilesFor(path string) Files {
	base := strings.TrimSuffix(path, ".csv")
	return Files{Registrations: path, Districts: base + ".districts.csv", Truth: base + ".truth.csv"}
}

// WriteFiles writes the roll's registrations, districts and truth.
func (r *Roll) WriteFiles(f Files) error {
	for _, x := range []struct {
		path  string
		write func(io.Writer) error
	}{{f.Registrations, r.WriteRegistrations}, {f.Districts, r.WriteDistricts}, {f.Truth, r.WriteTruth}} {
		if err := writeFile(x.path, x.write); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	return errors.Join(write(f), f.Close())
}

// Registration file headers, Chinese or English as the seed says; what
// `dengji import registrations` reads.
var (
	HeaderZh = []string{"姓名", "性别", "出生日期", "身份证号", "户籍地址", "现住址", "联系电话", "选区", "ref"}
	HeaderEn = []string{"name", "gender", "birth_date", "id_number", "household_address", "residence_address", "phone",
		"district", "ref"}
)

// fileRNG is the randomness of how a file is written (header, date
// formats, kind words): from the seed, apart from the roll's own.
func (r *Roll) fileRNG(stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(r.Seed, 0xf11e0+stream))
}

// WriteRegistrations writes one row per record: gender as 男/女, the birth
// date in the formats offices mix (1990-01-02, 1990/1/2, 1990年1月2日,
// 19900102) and the record ID as ref (the truth file's key).
func (r *Roll) WriteRegistrations(w io.Writer) error {
	rng := r.fileRNG(1)
	cw := csv.NewWriter(w)
	header := HeaderZh
	if rng.IntN(3) == 0 {
		header = HeaderEn
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	row := make([]string, len(header))
	for _, rec := range r.Records {
		g := map[string]string{"M": "男", "F": "女"}[rec.Gender]
		row = append(row[:0], rec.Name, g, mixedDate(rng, rec.BirthDate), rec.IDNumber, rec.HouseholdAddress,
			rec.ResidenceAddress, rec.Phone, rec.District, rec.ID)
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// mixedDate writes an ISO date in one of the formats offices use.
func mixedDate(rng *rand.Rand, iso string) string {
	if len(iso) != 10 {
		return iso
	}
	y, m, d := iso[:4], strings.TrimPrefix(iso[5:7], "0"), strings.TrimPrefix(iso[8:10], "0")
	switch x := rng.IntN(20); {
	case x < 9:
		return iso
	case x < 13:
		return y + "/" + m + "/" + d
	case x < 16:
		return y + "年" + m + "月" + d + "日"
	}
	return iso[:4] + iso[5:7] + iso[8:10]
}

// Kind words offices write in a districts file, per kind.
var kindWords = map[string][]string{
	KindVillage:   {"村", "村委会", "village"},
	KindCommunity: {"社区", "居委会", "community"},
	KindWorkUnit:  {"单位", "单位选区", "unit", "work_unit"},
}

// WriteDistricts writes the roll's districts: code, name, kind, parent (the
// town's 9-digit code, blank for a county's own work unit), with an
// English or a Chinese header and the kinds in the words offices use.
func (r *Roll) WriteDistricts(w io.Writer) error {
	rng := r.fileRNG(2)
	cw := csv.NewWriter(w)
	header := []string{"code", "name", "kind", "parent"}
	if rng.IntN(2) == 0 {
		header = []string{"代码", "名称", "类型", "上级"}
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, d := range r.Districts {
		words := kindWords[d.Kind]
		if err := cw.Write([]string{d.Code, d.Name, words[rng.IntN(len(words))], d.Town}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// TruthHeader is the truth file's header: ref and person (rows of one
// person are duplicates of each other), then how each row was planted.
var TruthHeader = []string{"ref", "person", "role", "relation", "related", "noise"}

// WriteTruth writes the truth: one row per registration.
func (r *Roll) WriteTruth(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(TruthHeader); err != nil {
		return err
	}
	for i, rec := range r.Records {
		l := r.Labels[i]
		if err := cw.Write([]string{rec.ID, r.Truth[i], l.Role, l.Relation, l.Related, l.Noise}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Stats counts what a roll holds, for tests and for the generator's report.
type Stats struct {
	Records, Persons, Districts int
	Kinds                       map[string]int // districts per kind
	Roles                       map[string]int // records per role
	Relations                   map[string]int // records per relation
	Noise                       map[string]int // records per noise tag
	DupPairs                    int            // pairs of records of one person
}

// Stats counts the roll's districts, roles and noise.
func (r *Roll) Stats() Stats {
	s := Stats{Records: len(r.Records), Districts: len(r.Districts), Kinds: map[string]int{}, Roles: map[string]int{},
		Relations: map[string]int{}, Noise: map[string]int{}}
	for _, d := range r.Districts {
		s.Kinds[d.Kind]++
	}
	per := map[string]int{}
	for i, l := range r.Labels {
		per[r.Truth[i]]++
		s.Roles[l.Role]++
		if l.Relation != "" {
			s.Relations[l.Relation]++
		}
		if l.Noise != "" {
			for _, t := range strings.Split(l.Noise, "+") {
				s.Noise[t]++
			}
		}
	}
	s.Persons = len(per)
	for _, k := range per {
		s.DupPairs += k * (k - 1) / 2
	}
	return s
}

// Rate is n out of the roll's records, for printing.
func (s Stats) Rate(n int) string {
	return strconv.FormatFloat(100*float64(n)/float64(max(1, s.Records)), 'f', 2, 64) + "%"
}
