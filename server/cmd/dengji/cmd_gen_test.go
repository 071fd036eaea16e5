package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenCommand(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "roll.csv")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"gen", "--records", "200", "--seed", "3", "--out", file}, &out); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, file)
	if len(rows) != 201 || strings.Join(rows[0], ",") != "姓名,性别,出生日期,身份证号,户籍地址,现住址,联系电话,选区,ref" {
		t.Fatalf("%d rows, header %q", len(rows), rows[0])
	}
	if truth := readCSV(t, filepath.Join(dir, "roll.truth.csv")); len(truth) != 201 || truth[1][0] != rows[1][8] {
		t.Errorf("truth %q", truth[:2])
	}
	districts := readCSV(t, filepath.Join(dir, "roll.districts.csv"))
	if len(districts) < 2 || strings.Join(districts[0], ",") != "code,name,kind" {
		t.Errorf("districts %q", districts)
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
