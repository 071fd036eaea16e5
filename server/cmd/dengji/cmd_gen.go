package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/dengji/dengji/server/dedup"
	"github.com/dengji/dengji/server/dedup/gen"
)

func init() {
	commands["gen"] = command{"生成带重复登记的演示名册 / generate a demo roll with planted duplicates", runGen}
}

const genUsage = "dengji gen --records N [--seed S] --out FILE.csv"

// genHeader is what `dengji import registrations` reads.
var genHeader = []string{"姓名", "性别", "出生日期", "身份证号", "户籍地址", "现住址", "联系电话", "选区", "ref"}

// runGen writes FILE.csv (registrations), FILE.districts.csv (the districts
// the roll uses, to import first) and FILE.truth.csv (ref → person: rows of
// one person are duplicates of each other).
func runGen(_ context.Context, args []string, out io.Writer) error {
	var dir, outFile string
	var records int
	var seed uint64
	fs := newFlags("gen", &dir)
	fs.IntVar(&records, "records", 1000, "记录数 / number of registrations")
	fs.Uint64Var(&seed, "seed", 1, "种子：同一种子得到同一名册 / seed: same seed, same roll")
	fs.StringVar(&outFile, "out", "", "登记 CSV 文件 / registrations CSV file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if outFile == "" || records < 1 || fs.NArg() != 0 {
		return fmt.Errorf("%w: %s", errUsage, genUsage)
	}
	recs, truth := gen.Generate(gen.DefaultConfig(records, seed))
	base := strings.TrimSuffix(outFile, ".csv")
	files := []struct {
		path  string
		write func(*csv.Writer) error
	}{
		{outFile, func(w *csv.Writer) error { return writeGenRoll(w, recs) }},
		{base + ".districts.csv", func(w *csv.Writer) error { return writeGenDistricts(w, recs) }},
		{base + ".truth.csv", func(w *csv.Writer) error { return writeGenTruth(w, recs, truth) }},
	}
	for _, f := range files {
		if err := writeCSVFile(f.path, f.write); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "已生成 / generated %d 条登记 registrations: %s\n选区 / districts: %s\n真值 / truth: %s\n"+
		"试用 / try: dengji import districts %s && dengji import registrations %s && dengji dedup\n",
		len(recs), outFile, files[1].path, files[2].path, files[1].path, outFile)
	return nil
}

func writeCSVFile(path string, write func(*csv.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	err = write(w)
	w.Flush()
	return errors.Join(err, w.Error(), f.Close())
}

func writeGenRoll(w *csv.Writer, recs []dedup.Record) error {
	if err := w.Write(genHeader); err != nil {
		return err
	}
	for _, r := range recs {
		g := map[string]string{"M": "男", "F": "女"}[r.Gender]
		// The record ID is the row's unique reference: gen's Ref names the
		// person, which duplicates share.
		row := []string{r.Name, g, r.BirthDate, r.IDNumber, r.HouseholdAddress, r.ResidenceAddress, r.Phone, r.District, r.ID}
		if err := w.Write(row); err != nil {
			return err
		}
	}
	return nil
}

// writeGenDistricts lists the roll's districts: code, name, kind (the
// generator's codes end in V village, C community or W work unit + number).
func writeGenDistricts(w *csv.Writer, recs []dedup.Record) error {
	seen := map[string]bool{}
	for _, r := range recs {
		seen[r.District] = true
	}
	codes := make([]string, 0, len(seen))
	for c := range seen {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	if err := w.Write([]string{"code", "name", "kind"}); err != nil {
		return err
	}
	kinds := map[byte][2]string{'V': {"village", "村"}, 'C': {"community", "社区"}, 'W': {"work_unit", "单位"}}
	for _, c := range codes {
		name, kind := "选区"+c, "village"
		if n := len(c); n > 4 {
			if k, ok := kinds[c[n-4]]; ok {
				name, kind = "第"+c[n-3:]+"选区（"+c[:n-4]+k[1]+"）", k[0]
			}
		}
		if err := w.Write([]string{c, name, kind}); err != nil {
			return err
		}
	}
	return nil
}

func writeGenTruth(w *csv.Writer, recs []dedup.Record, truth []string) error {
	if err := w.Write([]string{"ref", "person"}); err != nil {
		return err
	}
	for i, r := range recs {
		if err := w.Write([]string{r.ID, truth[i]}); err != nil {
			return err
		}
	}
	return nil
}
