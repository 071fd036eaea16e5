package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
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

// importFixture imports two districts and three rows (one bad) into a
// fresh data directory.
func importFixture(t *testing.T) (dir string, ids []string) {
	t.Helper()
	dir, files := t.TempDir(), t.TempDir()
	var stderr bytes.Buffer
	rollStderr = &stderr
	t.Cleanup(func() { rollStderr = os.Stderr })
	districts := filepath.Join(files, "districts.csv")
	os.WriteFile(districts, []byte("选区代码,名称,类型,乡镇\nd1,水塘垸村,村,t1\nd2,黄花社区,社区,t1\n"), 0o600)
	ids = []string{validID(t, "430102", "19900102", 11), validID(t, "110105", "19800101", 22)}
	regs := filepath.Join(files, "regs.csv")
	os.WriteFile(regs, []byte("姓名,性别,出生日期,身份证号,联系电话,选区,选民小组\n"+
		"李碧辉,男,1990-01-02,"+ids[0]+",13800138000,d1,1\n"+
		"坏行,男,1990-01-02,123,,d1,1\n"+
		"杨倩,女,1980-01-01,"+ids[1]+",,d2,1\n"), 0o600)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"import", "districts", "--data", dir, districts}, &out); err != nil {
		t.Fatal(err)
	}
	errFile := filepath.Join(files, "errors.csv")
	out.Reset()
	if err := run(context.Background(), []string{"import", "registrations", "--data", dir, "--errors", errFile, regs}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "imported 2") || !strings.Contains(out.String(), "rejected 1") {
		t.Fatalf("summary: %s", out.String())
	}
	errs, _ := os.ReadFile(errFile)
	if !strings.Contains(string(errs), "行/row,列/column") || !strings.Contains(string(errs), "3,身份证号,id_length") {
		t.Fatalf("errors file: %s", errs)
	}
	if !strings.Contains(stderr.String(), "imported 3") {
		t.Fatalf("progress: %s", stderr.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"import", "registrations", "--data", dir, regs}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "imported 0") || !strings.Contains(out.String(), "unchanged 2") {
		t.Fatalf("second import: %s", out.String())
	}
	if !strings.Contains(stderr.String(), "3,身份证号,id_length") {
		t.Fatalf("row errors on stderr: %s", stderr.String())
	}
	return dir, ids
}

func TestImportCommand(t *testing.T) {
	importFixture(t)
}

func TestImportCommand_ErrUsage(t *testing.T) {
	for _, args := range [][]string{{"import"}, {"import", "voters", "x.csv"}, {"import", "districts"}} {
		if err := run(context.Background(), args, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("%v: %v", args, err)
		}
	}
}
