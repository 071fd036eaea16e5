// Package eval runs the deduplication engine on generated rolls and on the
// FEBRL benchmark and prints the comparison with the naive baselines, for
// the `dengji dedup eval` command.
package eval

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/dengji/dengji/server/dedup"
	"github.com/dengji/dengji/server/dedup/gen"
)

// Config says what to evaluate.
type Config struct {
	Records  int    // size of the generated roll (0: skip)
	Seed     uint64 // generator seed
	FEBRLDir string // folder with dataset1.csv ...; "" or absent: skip FEBRL
}

// FEBRLSets are the FEBRL datasets evaluated, each a list of files.
var FEBRLSets = [][]string{{"dataset1.csv"}, {"dataset2.csv"}, {"dataset3.csv"}, {"dataset4a.csv", "dataset4b.csv"}}

// RunEval prints a table for the generated roll and each FEBRL dataset.
func RunEval(w io.Writer, cfg Config) error {
	if cfg.Records > 0 {
		recs, truth := gen.Generate(gen.DefaultConfig(cfg.Records, cfg.Seed))
		if err := evalOne(w, fmt.Sprintf("generated(seed %d)", cfg.Seed), recs, truth, dedup.DefaultOptions()); err != nil {
			return err
		}
	}
	if cfg.FEBRLDir == "" {
		return nil
	}
	if _, err := os.Stat(cfg.FEBRLDir); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(w, "febrl: %s absent, skipped\n", cfg.FEBRLDir)
		return nil
	}
	for _, set := range FEBRLSets {
		recs, truth, err := dedup.LoadFEBRL(cfg.FEBRLDir, set...)
		if err != nil {
			return fmt.Errorf("load febrl: %w", err)
		}
		if err := evalOne(w, fmt.Sprint("febrl ", set), recs, truth, dedup.FEBRLOptions()); err != nil {
			return err
		}
	}
	return nil
}

func evalOne(w io.Writer, name string, recs []dedup.Record, truth []string, opt dedup.Options) error {
	res, _, err := dedup.Run(recs, opt)
	if err != nil {
		return fmt.Errorf("run %s: %w", name, err)
	}
	rep, err := dedup.Evaluate(recs, truth, res, opt)
	if err != nil {
		return fmt.Errorf("evaluate %s: %w", name, err)
	}
	rep.Dataset = name
	rep.Print(w)
	return nil
}
