// Command gendata derives regions.csv.gz, the compact region table that
// package idcard embeds, from the reference division data:
//
//	go run ./internal/gendata -src /work/shared/data/divisions -out regions.csv.gz
//
// Input: address_code_history.csv (year,code,name for 1980-2018, from
// jxlwqq/address-code-of-china, MIT) and areas.csv, cities.csv,
// provinces.csv (today's codes, from modood/Administrative-divisions-of-China).
// Output rows: code,first,last,current,name where first and last are the
// first and last years the code appears in the history (0 if never) and
// current is 1 if the code exists today.
package main

import (
	"compress/gzip"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

type region struct {
	first, last int
	current     bool
	name        string
}

func main() {
	src := flag.String("src", "/work/shared/data/divisions", "directory with the division CSVs")
	out := flag.String("out", "regions.csv.gz", "output file")
	flag.Parse()
	if err := run(*src, *out); err != nil {
		log.Fatal(err)
	}
}

func run(src, out string) error {
	regions := map[string]*region{}
	get := func(code string) *region {
		r := regions[code]
		if r == nil {
			r = &region{}
			regions[code] = r
		}
		return r
	}
	err := eachRow(filepath.Join(src, "address_code_history.csv"), false, func(rec []string) error {
		year, err := strconv.Atoi(rec[0])
		if err != nil {
			return fmt.Errorf("year %q: %w", rec[0], err)
		}
		r := get(rec[1])
		if r.first == 0 || year < r.first {
			r.first = year
		}
		if year >= r.last {
			r.last, r.name = year, rec[2]
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, f := range []struct {
		file string
		pad  string
	}{{"provinces.csv", "0000"}, {"cities.csv", "00"}, {"areas.csv", ""}} {
		err := eachRow(filepath.Join(src, f.file), true, func(rec []string) error {
			r := get(rec[0] + f.pad)
			r.current = true
			if f.pad == "" || r.name == "" {
				r.name = rec[1]
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	codes := make([]string, 0, len(regions))
	for c := range regions {
		codes = append(codes, c)
	}
	sort.Strings(codes)

	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	zw, err := gzip.NewWriterLevel(f, gzip.BestCompression)
	if err != nil {
		return err
	}
	w := csv.NewWriter(zw)
	w.Write([]string{"code", "first", "last", "current", "name"})
	for _, c := range codes {
		r := regions[c]
		cur := "0"
		if r.current {
			cur = "1"
		}
		w.Write([]string{c, strconv.Itoa(r.first), strconv.Itoa(r.last), cur, r.name})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}

func eachRow(path string, header bool, fn func([]string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(f)
	if header {
		if _, err := r.Read(); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		if err := fn(rec); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
}
