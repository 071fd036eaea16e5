package dedup

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// LoadFEBRL reads FEBRL CSV files (", "-separated; see shared/data/README.md)
// from dir and returns records and truth (the N of rec-N-org/rec-N-dup-k).
// Use Options with IDChecksum false: soc_sec_id has no check digit.
func LoadFEBRL(dir string, files ...string) ([]Record, []string, error) {
	var recs []Record
	var truth []string
	for _, f := range files {
		r, t, err := loadFEBRLFile(filepath.Join(dir, f))
		if err != nil {
			return nil, nil, err
		}
		recs, truth = append(recs, r...), append(truth, t...)
	}
	return recs, truth, nil
}

func loadFEBRLFile(path string) ([]Record, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrNoFEBRL, err)
	}
	defer f.Close()
	var recs []Record
	var truth []string
	sc := bufio.NewScanner(f)
	for line := 0; sc.Scan(); line++ {
		if line == 0 {
			continue
		}
		c := strings.Split(sc.Text(), ",")
		if len(c) != 11 {
			return nil, nil, fmt.Errorf("%w: %s line %d", ErrBadFEBRL, path, line+1)
		}
		for i := range c {
			c[i] = strings.TrimSpace(c[i])
		}
		parts := strings.Split(c[0], "-")
		if len(parts) < 3 {
			return nil, nil, fmt.Errorf("%w: rec_id %q", ErrBadFEBRL, c[0])
		}
		recs = append(recs, Record{ID: c[0], Name: strings.TrimSpace(c[1] + " " + c[2]), BirthDate: c[9], IDNumber: c[10],
			HouseholdAddress: strings.Join([]string{c[3], c[4], c[6], c[7]}, " ")})
		truth = append(truth, parts[1])
	}
	return recs, truth, sc.Err()
}

// FEBRLOptions are DefaultOptions for FEBRL: plain IDs without checksum.
func FEBRLOptions() Options {
	o := DefaultOptions()
	o.IDChecksum = false
	return o
}
