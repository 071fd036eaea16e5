package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// genImported generates a roll and imports it into a fresh data directory.
func genImported(t *testing.T, n string) string {
	t.Helper()
	data, files := t.TempDir(), t.TempDir()
	oldRoll, oldDedup := rollStderr, dedupStderr
	rollStderr, dedupStderr = io.Discard, io.Discard
	t.Cleanup(func() { rollStderr, dedupStderr = oldRoll, oldDedup })
	roll := filepath.Join(files, "roll.csv")
	ctx := context.Background()
	for _, args := range [][]string{
		{"gen", "--records", n, "--out", roll},
		{"import", "districts", "--data", data, filepath.Join(files, "roll.districts.csv")},
		{"import", "registrations", "--data", data, roll},
	} {
		if err := run(ctx, args, io.Discard); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	return data
}

func TestDedupCommand(t *testing.T) {
	data := genImported(t, "300")
	ctx := context.Background()
	var out bytes.Buffer
	if err := run(ctx, []string{"dedup", "--data", data}, &out); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "全量 / full") || !strings.Contains(s, "auto") {
		t.Fatalf("summary:\n%s", s)
	}
	out.Reset()
	if err := run(ctx, []string{"dedup", "--incremental", "--data", data}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "新增 / new 0") {
		t.Errorf("a second run added cases:\n%s", out.String())
	}
	// A fresh process's incremental run rebuilds the index from the data
	// directory: it is incremental, over nothing new, scoring no pair.
	if s := out.String(); !strings.Contains(s, "增量 / incremental") || !strings.Contains(s, "records:        0\n") ||
		!strings.Contains(s, "pairs scored:   0\n") {
		t.Errorf("--incremental in a new process after a full run:\n%s", s)
	}

	csvFile := filepath.Join(t.TempDir(), "dups.csv")
	out.Reset()
	if err := run(ctx, []string{"export", "duplicates", "--data", data, "--format", "csv", "--out", csvFile}, &out); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, csvFile)
	if !strings.HasPrefix(strings.Join(rows[0], ","), "cluster,ref,record_id,district,name,id_number,decision,score") {
		t.Fatalf("header %q", rows[0])
	}
	if len(rows) < 3 || rows[1][0] != rows[2][0] || rows[1][1] == "" || rows[1][4] == "" {
		t.Fatalf("rows %q", rows[:min(3, len(rows))])
	}
	out.Reset()
	if err := run(ctx, []string{"export", "duplicates", "--data", data, "--format", "xlsx"}, &out); !errors.Is(err, errUsage) {
		t.Errorf("xlsx: %v", err)
	}
}

func TestDedupCommand_Eval(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"dedup", "eval", "--records", "500", "--febrl", filepath.Join(t.TempDir(), "none")}, &out); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "generated") || !strings.Contains(s, "absent") {
		t.Errorf("eval:\n%s", s)
	}
}

func TestDedupCommand_ErrUsage(t *testing.T) {
	if err := run(context.Background(), []string{"dedup", "extra"}, io.Discard); !errors.Is(err, errUsage) {
		t.Errorf("got %v", err)
	}
}
