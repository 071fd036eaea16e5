package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dengji/dengji/server/dedup/gen"
)

func TestGenCommand(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "roll.csv")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"gen", "--records", "200", "--seed", "3", "--out", file}, &out); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, file)
	h := strings.Join(rows[0], ",")
	if len(rows) != 201 || h != strings.Join(gen.HeaderZh, ",") && h != strings.Join(gen.HeaderEn, ",") {
		t.Fatalf("%d rows, header %q", len(rows), rows[0])
	}
	if truth := readCSV(t, filepath.Join(dir, "roll.truth.csv")); len(truth) != 201 || truth[1][0] != rows[1][8] ||
		!slices.Equal(truth[0][:2], []string{"ref", "person"}) {
		t.Errorf("truth %q", truth[:2])
	}
	districts := readCSV(t, filepath.Join(dir, "roll.districts.csv"))
	if h := strings.Join(districts[0], ","); len(districts) < 2 || h != "code,name,kind,parent" && h != "代码,名称,类型,上级" {
		t.Errorf("districts %q", districts)
	}
	if !strings.Contains(out.String(), "已生成 / generated 200") {
		t.Errorf("output %q", out.String())
	}
	if err := run(context.Background(), []string{"gen", "--records", "10"}, &out); err == nil {
		t.Error("gen without --out: no error")
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
