package main

import (
	"os"
	"path/filepath"
	"testing"
)

// -h and --help print a command's help and stop there: no server started,
// no duplicate check or evaluation run, no data directory created.
func TestHelp_TouchesNothing(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	t.Setenv("DENGJI_DATA", data)
	t.Setenv("DENGJI_KEY_FILE", filepath.Join(t.TempDir(), "keys"))
	for _, args := range [][]string{
		{"dedup", "-h"}, {"dedup", "eval", "--help"}, {"dedup", "score", "-h"},
		{"bench", "sync", "--help"}, {"gen", "-h"}, {"import", "registrations", "--help"}, {"import", "districts", "-h"},
		{"export", "roll", "-h"}, {"export", "stats", "-h"}, {"export", "verification", "-h"}, {"export", "duplicates", "-h"},
		{"user", "add", "-h"}, {"user", "list", "-h"}, {"device", "list", "-h"}, {"key", "list", "-h"},
		{"check", "-h"}, {"audit", "verify", "-h"}, {"election", "show", "-h"}, {"election", "set", "--help"},
		{"serve", "--help"}, // last: before the fix it served for ever
	} {
		if _, err := runCLI(t, args...); err != nil {
			t.Errorf("%v: %v", args, err)
		}
		if _, err := os.Stat(data); !os.IsNotExist(err) {
			t.Fatalf("%v created the data directory", args)
		}
	}
}
