package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

func TestExportCommand_Roll(t *testing.T) {
	dir, ids := importFixture(t)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"export", "roll", "--data", dir, "--district", "d1", "--posted"}, &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.HasPrefix(s, "\ufeff序号,选民小组,姓名") || !strings.Contains(s, "李碧辉") ||
		strings.Contains(s, ids[0]) || strings.Contains(s, "13800138000") {
		t.Fatalf("posted roll:\n%s", s)
	}

	xlsx := filepath.Join(t.TempDir(), "roll.xlsx")
	out.Reset()
	if err := run(context.Background(), []string{"export", "roll", "--data", dir, "--district", "d1",
		"--format", "xlsx", "--out", xlsx}, &out); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(xlsx)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, _ := f.GetRows("选民榜")
	if len(rows) != 2 || rows[1][5] != ids[0] {
		t.Fatalf("rows %q", rows)
	}
}

func TestExportCommand_Stats(t *testing.T) {
	dir, _ := importFixture(t)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"export", "stats", "--data", dir, "--format", "json"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"level": "town"`) || !strings.Contains(out.String(), `"registered": 2`) {
		t.Fatalf("stats:\n%s", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"export", "stats", "--data", dir}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "合计") {
		t.Fatalf("stats csv:\n%s", out.String())
	}
}

func TestExportCommand_ErrUsage(t *testing.T) {
	for _, args := range [][]string{{"export"}, {"export", "roll"}, {"export", "stats", "--format", "xml", "--data", t.TempDir()}} {
		if err := run(context.Background(), args, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("%v: %v", args, err)
		}
	}
}
