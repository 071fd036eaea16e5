package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/dengji/dengji/server/roll"
)

func TestExportCommand_Roll(t *testing.T) {
	dir, ids := importFixture(t)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"export", "roll", "--data", dir, "--district", "430102001001", "--posted"}, &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.HasPrefix(s, "\ufeff序号,选民小组,姓名") || !strings.Contains(s, "李碧辉") ||
		strings.Contains(s, ids[0]) || strings.Contains(s, "13800138000") {
		t.Fatalf("posted roll:\n%s", s)
	}

	xlsx := filepath.Join(t.TempDir(), "roll.xlsx")
	out.Reset()
	if err := run(context.Background(), []string{"export", "roll", "--data", dir, "--district", "430102001001",
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
	var st roll.Stats
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	units := map[string]roll.Unit{}
	for _, u := range st.Units {
		units[u.Level+":"+u.Code] = u
	}
	if u := units["total:"]; u.Registered != 3 || u.NeedsVerification != 1 {
		t.Fatalf("total %+v", u)
	}
	if u := units["town:430102001"]; u.NeedsVerification != 1 || units["county:430102"].NeedsVerification != 1 {
		t.Fatalf("stats:\n%s", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"export", "stats", "--data", dir}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "合计") || !strings.Contains(out.String(), ",待核实,") {
		t.Fatalf("stats csv:\n%s", out.String())
	}
}

func TestExportCommand_RollVerificationMark(t *testing.T) {
	dir, _ := importFixture(t)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"export", "roll", "--district", "430102001002", "--data", dir}, &out); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, ",待核实,") || !strings.Contains(s, "身份证号应为18位") {
		t.Fatalf("office roll:\n%s", s)
	}
	out.Reset()
	if err := run(context.Background(), []string{"export", "roll", "--posted", "--district", "430102001002", "--data", dir}, &out); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "坏行") || strings.Contains(s, "待核实") || strings.Contains(s, "身份证号应为") {
		t.Fatalf("posted roll:\n%s", s)
	}
}

func TestExportCommand_Verification(t *testing.T) {
	dir, _ := importFixture(t)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"export", "verification", "--data", dir}, &out); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out.String(), "\ufeff"))).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("%q %v", rows, err)
	}
	header := strings.Join(rows[0], ",")
	for _, h := range []string{"选区", "姓名", "性别", "出生日期", "身份证号", "核实状态", "原因"} {
		if !strings.Contains(header, h) {
			t.Fatalf("header %q lacks %s", header, h)
		}
	}
	if line := strings.Join(rows[1], ","); !strings.Contains(line, "430102001002") || !strings.Contains(line, "坏行") ||
		!strings.Contains(line, "身份存疑") {
		t.Fatalf("line %q", line)
	}

	// An area, flags after the subcommand in any order, English XLSX.
	xlsx := filepath.Join(t.TempDir(), "verify.xlsx")
	out.Reset()
	if err := run(context.Background(), []string{"export", "verification", "--out", xlsx, "--english",
		"--district", "430102001", "--format", "xlsx", "--data", dir}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "exported 1") {
		t.Fatalf("%s", out.String())
	}
	f, err := excelize.OpenFile(xlsx)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	xrows, _ := f.GetRows("Needs verification")
	if len(xrows) != 2 || xrows[0][0] != "District" || xrows[1][2] != "坏行" {
		t.Fatalf("rows %q", xrows)
	}
	out.Reset()
	if err := run(context.Background(), []string{"export", "verification", "--district", "430102001001", "--data", dir}, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "坏行") {
		t.Fatalf("another district's: %s", out.String())
	}
}

func TestExportCommand_ErrUsage(t *testing.T) {
	for _, args := range [][]string{{"export"}, {"export", "roll"}, {"export", "stats", "--format", "xml", "--data", t.TempDir()},
		{"export", "stats", "extra", "--data", t.TempDir()}, {"export", "verification", "--format", "json", "--data", t.TempDir()}} {
		if err := run(context.Background(), args, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("%v: %v", args, err)
		}
	}
}
