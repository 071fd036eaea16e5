package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dengji/dengji/model/idcard"
)

func validID(t *testing.T, region, birth string, seq int) string {
	t.Helper()
	id := idcard.Compose(region, birth, seq)
	if id == "" {
		t.Fatalf("bad ID parts %s %s %d", region, birth, seq)
	}
	return id
}

// importFixture imports two districts and four rows into a fresh data
// directory: two good, one with a bad ID number (imported, needing
// verification), one without a name (refused). Flags come before and
// after the file.
func importFixture(t *testing.T) (dir string, ids []string) {
	t.Helper()
	dir, files := t.TempDir(), t.TempDir()
	var stderr bytes.Buffer
	rollStderr = &stderr
	t.Cleanup(func() { rollStderr = os.Stderr })
	districts := filepath.Join(files, "districts.csv")
	os.WriteFile(districts, []byte("选区代码,名称,类型,乡镇\n430102001001,水塘垸村,村委会,430102001\n430102001002,黄花社区,居委会,430102001\n"), 0o600)
	ids = []string{validID(t, "430102", "19900102", 11), validID(t, "110105", "19800101", 22)}
	regs := filepath.Join(files, "regs.csv")
	os.WriteFile(regs, []byte("姓名,性别,出生日期,身份证号,联系电话,选区,选民小组\n"+
		"李碧辉,男,1990-01-02,"+ids[0]+",13800138000,430102001001,1\n"+
		"坏行,男,1990-01-02,123,,430102001002,1\n"+
		"杨倩,女,1980-01-01,"+ids[1]+",,430102001002,1\n"+
		",女,1980-01-01,,,430102001002,1\n"), 0o600)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"import", "districts", districts, "--data", dir}, &out); err != nil {
		t.Fatal(err)
	}
	errFile := filepath.Join(files, "errors.csv")
	out.Reset()
	if err := run(context.Background(), []string{"import", "registrations", "--data", dir, regs, "--errors", errFile}, &out); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "imported 3") || !strings.Contains(s, "needs verification 1") ||
		!strings.Contains(s, "rejected 1") || !strings.Contains(s, errFile) {
		t.Fatalf("summary: %s", out.String())
	}
	errs, _ := os.ReadFile(errFile)
	for _, want := range []string{"类型/kind,行/row,列/column", "警告/warning,3,身份证号,id_length", "错误/error,5,姓名,required"} {
		if !strings.Contains(string(errs), want) {
			t.Fatalf("errors file lacks %q:\n%s", want, errs)
		}
	}
	if !strings.Contains(stderr.String(), "imported 4") {
		t.Fatalf("progress: %s", stderr.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"import", "registrations", "--data", dir, regs}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "imported 0") || !strings.Contains(out.String(), "unchanged 3") {
		t.Fatalf("second import: %s", out.String())
	}
	if !strings.Contains(stderr.String(), "错误/error,5,姓名,required") || strings.Contains(stderr.String(), "警告") {
		t.Fatalf("row errors on stderr: %s", stderr.String())
	}
	return dir, ids
}

func TestImportCommand(t *testing.T) {
	importFixture(t)
}

func TestImportCommand_ErrUsage(t *testing.T) {
	for _, args := range [][]string{{"import"}, {"import", "voters", "x.csv"}, {"import", "districts"},
		{"import", "districts", "a.csv", "b.csv"}, {"import", "districts", "a.csv", "--nope"}} {
		if err := run(context.Background(), args, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("%v: %v", args, err)
		}
	}
}

func TestImportCommand_JSON(t *testing.T) {
	dir, files := t.TempDir(), t.TempDir()
	rollStderr = &bytes.Buffer{}
	t.Cleanup(func() { rollStderr = os.Stderr })
	districts := filepath.Join(files, "d.csv")
	os.WriteFile(districts, []byte("code,name,kind,parent\n4301029001,供电所,unit,\n430102001901,农机站,单位,430102001\nd1,坏选区,村,\n"), 0o600)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"import", "districts", districts, "--json", "--data", dir}, &out); err != nil {
		t.Fatal(err)
	}
	var rep map[string]any
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	for _, k := range []string{"read", "imported", "needs_verification", "rejected", "unchanged", "errors", "warnings"} {
		if _, ok := rep[k]; !ok {
			t.Errorf("no %q in %s", k, out.String())
		}
	}
	if rep["imported"] != 2.0 || rep["rejected"] != 1.0 || !strings.Contains(out.String(), `"column":"code","code":"district_code_invalid"`) {
		t.Fatalf("%s", out.String())
	}

	regs := filepath.Join(files, "r.csv")
	os.WriteFile(regs, []byte("姓名,出生日期,身份证号,选区\n王雄,1970-05-06,,供电所\n钱七,1961-01-01,,430102001901\n"), 0o600)
	out.Reset()
	if err := run(context.Background(), []string{"import", "registrations", "--json", "--data", dir, regs}, &out); err != nil {
		t.Fatal(err)
	}
	var r struct {
		Warnings []struct {
			Row          int
			Column, Code string
		}
	}
	json.Unmarshal(out.Bytes(), &rep)
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if rep["imported"] != 2.0 || rep["needs_verification"] != 2.0 || len(r.Warnings) != 4 || r.Warnings[0].Column != "身份证号" {
		t.Fatalf("%s", out.String())
	}
}

func TestImportCommand_ErrAllRejected(t *testing.T) {
	dir, files := t.TempDir(), t.TempDir()
	var stderr bytes.Buffer
	rollStderr = &stderr
	t.Cleanup(func() { rollStderr = os.Stderr })
	regs := filepath.Join(files, "r.csv")
	os.WriteFile(regs, []byte("姓名,出生日期,身份证号,选区\n王雄,1970-05-06,,430102001001\n,1970-05-06,,430102001001\n"), 0o600)
	var out bytes.Buffer
	err := run(context.Background(), []string{"import", "registrations", regs, "--data", dir, "--json"}, &out)
	if !errors.Is(err, errAllRejected) || errors.Is(err, errUsage) || !strings.Contains(err.Error(), "every row") ||
		!strings.Contains(err.Error(), "全部有误") {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(out.String(), `"rejected":2`) {
		t.Fatalf("report still printed: %s", out.String())
	}
	empty := filepath.Join(files, "empty.csv")
	os.WriteFile(empty, []byte("code,name,kind\n"), 0o600)
	if err := run(context.Background(), []string{"import", "districts", empty, "--data", dir}, &out); err != nil {
		t.Fatalf("a file without rows: %v", err)
	}
}

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		pos        []string
		out        string
		json       bool
		errorsFile string
	}{
		{args: []string{"a.csv"}, pos: []string{"a.csv"}},
		{args: []string{"--json", "a.csv", "--errors", "e.csv"}, pos: []string{"a.csv"}, json: true, errorsFile: "e.csv"},
		{args: []string{"a.csv", "--errors=e.csv", "-json"}, pos: []string{"a.csv"}, json: true, errorsFile: "e.csv"},
		{args: []string{"--errors", "-odd-name.csv", "a.csv"}, pos: []string{"a.csv"}, errorsFile: "-odd-name.csv"},
		{args: []string{"a.csv", "--json=false", "b.csv"}, pos: []string{"a.csv", "b.csv"}},
		{args: []string{"--json", "--", "--weird.csv"}, pos: []string{"--weird.csv"}, json: true},
		{args: []string{"-"}, pos: []string{"-"}},
	} {
		var asJSON bool
		var errorsFile string
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.BoolVar(&asJSON, "json", false, "")
		fs.StringVar(&errorsFile, "errors", "", "")
		pos, err := parseArgs(fs, tc.args)
		if err != nil || !slices.Equal(pos, tc.pos) || asJSON != tc.json || errorsFile != tc.errorsFile {
			t.Errorf("%q: %q json=%v errors=%q %v", tc.args, pos, asJSON, errorsFile, err)
		}
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := parseArgs(fs, []string{"a.csv", "--nope"}); !errors.Is(err, errUsage) {
		t.Errorf("unknown flag: %v", err)
	}
}
