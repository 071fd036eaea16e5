package idcard

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"sync"
)

// regions.csv.gz is derived by internal/gendata from address_code_history.csv
// (jxlwqq/address-code-of-china, MIT, LICENSE-address-code-of-china) and
// today's division lists (modood/Administrative-divisions-of-China,
// LICENSE-administrative-divisions). Columns: code,first,last,current,name.
//
//go:embed regions.csv.gz
var regionsGz []byte

type region struct {
	first, last uint16 // years the code appears in the history; 0 if never
	current     bool   // the code exists today
	name        string
}

var (
	regionsOnce sync.Once
	regions     map[string]region
	historyEnd  int // last year covered by the history
	regionsErr  error
)

func loadRegions() {
	regions, historyEnd, regionsErr = readRegions(regionsGz)
}

func readRegions(gz []byte) (map[string]region, int, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, 0, fmt.Errorf("idcard: region table: %w", err)
	}
	r := csv.NewReader(zr)
	r.FieldsPerRecord = 5
	r.ReuseRecord = true
	m := make(map[string]region, 7000)
	end := 0
	for line := 0; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			return m, end, nil
		}
		if err != nil {
			return nil, 0, fmt.Errorf("idcard: region table: %w", err)
		}
		if line == 0 {
			continue // header
		}
		first, err1 := strconv.Atoi(rec[1])
		last, err2 := strconv.Atoi(rec[2])
		if err1 != nil || err2 != nil || len(rec[0]) != 6 {
			return nil, 0, fmt.Errorf("idcard: region table line %d: bad row", line+1)
		}
		end = max(end, last)
		m[rec[0]] = region{uint16(first), uint16(last), rec[3] == "1", rec[4]}
	}
}

func lookup(code string) (region, bool) {
	regionsOnce.Do(loadRegions)
	if regionsErr != nil {
		panic(regionsErr) // the embedded table is part of the build
	}
	reg, ok := regions[code]
	return reg, ok
}

// RegionKnown reports whether code is a plausible region code for someone
// born in birthYear, and whether it still exists today.
//
// An ID keeps the county code of the year it was issued, which is unknown.
// A code is known if it exists today, or if it appears in the 1980-2020
// history in some year from birthYear on (any year, if born before the
// history starts; a code still present in the history's last year counts
// for any later birth year). A known code that is not current is worth a
// warning; an unknown one is an error.
func RegionKnown(code string, birthYear int) (known, current bool) {
	reg, ok := lookup(code)
	if !ok {
		return false, false
	}
	if reg.current {
		return true, true
	}
	if reg.last == 0 {
		return false, false
	}
	if birthYear <= int(reg.last) || int(reg.last) == historyEnd {
		return true, false
	}
	return false, false
}

// RegionName returns the latest known name of a region code (e.g. "东城区"),
// or "" if the code is not in the table.
func RegionName(code string) string {
	reg, _ := lookup(code)
	return reg.name
}

// CheckRegion checks id.Region against the region table for id's birth
// year: err is ErrRegion if the code never existed (as far as the table
// knows); current is false if it existed but no longer does.
func CheckRegion(id ID) (current bool, err error) {
	known, current := RegionKnown(id.Region, id.Birth.Year())
	if !known {
		return false, fmt.Errorf("%w: %s", ErrRegion, id.Region)
	}
	return current, nil
}
