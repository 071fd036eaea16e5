package main

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestCLI_Rules walks the command table, so a subcommand added to it is
// covered without a line here: for every command, -h and --help (also after
// a positional argument) print its help, exit 0 and create no data
// directory; arguments it does not take are a usage error that touches
// nothing either; and every group answers --help with its subcommands.
func TestCLI_Rules(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	t.Setenv("DENGJI_DATA", data)
	t.Setenv("DENGJI_KEY_FILE", filepath.Join(t.TempDir(), "keys"))
	paths := make([]string, 0, len(commands))
	for p := range commands {
		paths = append(paths, p)
	}
	sort.Strings(paths) // serve and its listener are no different from the rest
	untouched := func(t *testing.T) {
		t.Helper()
		if _, err := os.Stat(data); !os.IsNotExist(err) {
			t.Fatalf("the data directory was created")
		}
	}
	for _, p := range paths {
		words := strings.Fields(p)
		t.Run(strings.ReplaceAll(p, " ", "_"), func(t *testing.T) {
			for _, h := range [][]string{{"-h"}, {"--help"}, {"some-arg", "--help"}} {
				out, err := runCLI(t, append(words, h...)...)
				if err != nil {
					t.Errorf("%s %v: %v", p, h, err)
				}
				if !strings.Contains(out, "dengji "+p) || !strings.Contains(out, "参数 / flags:\n  --") {
					t.Errorf("%s %v: help does not name the command and its flags:\n%s", p, h, out)
				}
				untouched(t)
			}
			// Arguments no command takes: each is refused, and the refusal
			// names it, before anything is opened or run.
			_, err := runCLI(t, append(words, "stray1", "stray2", "stray3", "stray4")...)
			if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "stray") {
				t.Errorf("%s with stray arguments: %v, want a usage error naming one", p, err)
			}
			untouched(t)
			if _, err := runCLI(t, append(words, "--no-such-flag")...); !errors.Is(err, errUsage) {
				t.Errorf("%s --no-such-flag: %v, want a usage error", p, err)
			}
			untouched(t)
		})
	}
	for _, g := range []string{"user", "device", "key", "import", "export", "audit", "bench"} {
		out, err := runCLI(t, g, "--help")
		if err != nil || !strings.Contains(out, "dengji "+g+" ") {
			t.Errorf("%s --help: %v\n%s", g, err, out)
		}
		for _, sub := range subcommands(g) {
			if !strings.Contains(out, g+" "+sub) {
				t.Errorf("%s --help does not list %s", g, sub)
			}
		}
		if _, err := runCLI(t, g); !errors.Is(err, errUsage) {
			t.Errorf("%s alone: %v, want a usage error", g, err)
		}
		if _, err := runCLI(t, g, "no-such-sub"); !errors.Is(err, errUsage) {
			t.Errorf("%s no-such-sub: %v, want a usage error", g, err)
		}
	}
	out, err := runCLI(t, "help", "user", "add")
	if err != nil || !strings.Contains(out, "--role") {
		t.Errorf("help user add: %v\n%s", err, out)
	}
	untouched(t)
}

// Flags go before or after positional arguments alike (the README writes
// "import registrations roll.csv --errors errs.csv"), and a misplaced listen
// address is refused rather than ignored.
func TestCLI_FlagsAfterArguments(t *testing.T) {
	dir := t.TempDir()
	if _, err := runCLI(t, "user", "add", "li", "--role", "coordinator", "--districts", "430102", "--data", dir); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "user", "disable", "--data", dir, "li"); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "user", "list", "--data", dir)
	if err != nil || !strings.Contains(out, "停用 disabled") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	_, err = runCLI(t, "serve", "127.0.0.1:28913", "--data", filepath.Join(t.TempDir(), "x"))
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "127.0.0.1:28913") {
		t.Fatalf("serve ADDR: %v", err)
	}
}

func TestCLI_Version(t *testing.T) {
	out, err := runCLI(t, "version")
	if err != nil || !strings.HasPrefix(out, "dengji "+version) || !strings.Contains(out, "go1.") {
		t.Fatalf("version: %v %q", err, out)
	}
}

// A file an operator names that cannot be read is said so in Chinese, then
// English, with its path.
func TestCLI_ExplainFileErrors(t *testing.T) {
	_, err := runCLI(t, "import", "registrations", filepath.Join(t.TempDir(), "无此文件.csv"), "--data", t.TempDir())
	if msg := explain(err); !strings.HasPrefix(msg, "无法打开文件") || !strings.Contains(msg, "不存在") ||
		!strings.Contains(msg, "/ cannot open") || !strings.Contains(msg, "无此文件.csv") {
		t.Fatalf("%q", msg)
	}
}
