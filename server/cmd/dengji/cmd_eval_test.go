package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// The office's path by the commands: gen, import districts, import
// registrations, dedup, export duplicates, then score.
func TestDedupScoreCommand(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	roll := filepath.Join(dir, "roll.csv")
	dup := filepath.Join(dir, "dup.csv")
	dedupStderr, rollStderr = io.Discard, io.Discard
	var out bytes.Buffer
	for _, args := range [][]string{
		{"gen", "--records", "1500", "--seed", "2", "--out", roll},
		{"import", "districts", "--data", data, filepath.Join(dir, "roll.districts.csv")},
		{"import", "registrations", "--data", data, roll},
		{"dedup", "--data", data},
		{"export", "duplicates", "--data", data, "--format", "csv", "--out", dup},
	} {
		if err := run(context.Background(), args, &out); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out.String())
		}
	}
	out.Reset()
	if err := run(context.Background(), []string{"dedup", "score", "--truth", filepath.Join(dir, "roll.truth.csv"), dup}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "召回率 / recall") {
		t.Errorf("score output %q", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"dedup", "score", "--json", "--rows", "1500", "--imported", "1490",
		"--truth", filepath.Join(dir, "roll.truth.csv"), dup}, &out); err != nil {
		t.Fatal(err)
	}
	var s struct {
		Rows       int     `json:"rows"`
		TruePairs  int     `json:"true_pairs"`
		Recall     float64 `json:"recall"`
		ImportRate float64 `json:"import_rate"`
	}
	if err := json.Unmarshal(out.Bytes(), &s); err != nil || s.Rows != 1500 || s.TruePairs == 0 || s.ImportRate != 1490.0/1500 {
		t.Errorf("json %s: %+v %v", out.String(), s, err)
	}
	if err := run(context.Background(), []string{"dedup", "score", dup}, &out); err == nil {
		t.Error("score without --truth: no error")
	}
}

func TestDedupEvalProductCommand(t *testing.T) {
	dedupStderr = io.Discard
	var out bytes.Buffer
	if err := run(context.Background(), []string{"dedup", "eval", "--product", "--records", "1000", "--seed", "4", "--json"}, &out); err != nil {
		t.Fatal(err)
	}
	var res struct {
		Registrations struct{ Read, Imported int }
		Stages        []struct{ Name string }
		Scores        struct {
			TruePairs int `json:"true_pairs"`
		}
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || res.Registrations.Read != 1000 || len(res.Stages) != 6 ||
		res.Scores.TruePairs == 0 {
		t.Errorf("json %s: %+v %v", out.String(), res, err)
	}
}
