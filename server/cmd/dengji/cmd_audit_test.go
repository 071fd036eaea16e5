package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/dengji/dengji/server/audit"
	"github.com/dengji/dengji/server/store/boltstore"
)

func TestAudit_Help(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if out, err := runCLI(t, "audit", "-h"); err != nil || !strings.Contains(out, "audit verify") || !strings.Contains(out, "audit list") {
		t.Fatalf("audit -h: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"audit", "verify", "-h", "--data", dir}, {"audit", "list", "--help", "--data", dir}} {
		out, err := runCLI(t, args...)
		if err != nil || !strings.Contains(out, "dengji "+args[0]+" "+args[1]) || !strings.Contains(out, "each entry holding the hash") {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("help touched the data directory: %v", err)
	}
	if _, err := runCLI(t, "audit", "verify", "--data", dir); err == nil || errors.Is(err, errUsage) {
		t.Fatalf("verify of no data: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("verify of no data created it: %v", err)
	}
	if _, err := runCLI(t, "audit", "erase"); !errors.Is(err, errUsage) {
		t.Fatalf("unknown subcommand: %v", err)
	}
}

func TestAudit_VerifyAndList(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"user", "add", "li", "--role", "registrar", "--districts", "430102001001"},
		{"user", "disable", "li"},
		{"user", "enable", "li"},
		{"user", "reset-password", "li"},
	} {
		if out, err := runCLI(t, append(args, "--data", dir)...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	out, err := runCLI(t, "audit", "verify", "--data", dir)
	if err != nil || !strings.Contains(out, "intact: 4 entries") || !strings.Contains(out, "head: ") {
		t.Fatalf("verify: %v\n%s", err, out)
	}

	out, err = runCLI(t, "audit", "list", "--json", "--data", dir)
	var page struct {
		Entries []audit.Entry `json:"entries"`
		Next    uint64        `json:"next"`
	}
	if err != nil || json.Unmarshal([]byte(out), &page) != nil {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	want := []audit.Action{audit.UserCreated, audit.UserDisabled, audit.UserEnabled, audit.PasswordReset}
	if len(page.Entries) != len(want) || page.Next != 0 {
		t.Fatalf("list: %+v", page)
	}
	for i, e := range page.Entries {
		if e.Action != want[i] || e.Target != "li" || e.Actor != audit.ActorSystem {
			t.Errorf("entry %d: %+v, want %s of li by system", i+1, e, want[i])
		}
	}
	out, err = runCLI(t, "audit", "list", "--limit", "2", "--after", "1", "--data", dir)
	if err != nil || !strings.Contains(out, "user_disabled") || !strings.Contains(out, "user_enabled") ||
		strings.Contains(out, "user_created") || !strings.Contains(out, "--after 3") {
		t.Fatalf("list page: %v\n%s", err, out)
	}

	// The store cannot be made to change an entry, so the test edits the
	// file as someone with the data file would: it rewrites entry 2's
	// target in the bbolt bucket "audit" (boltstore's schema) directly.
	db, err := bolt.Open(filepath.Join(dir, boltstore.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("audit"))
		k := binary.BigEndian.AppendUint64(nil, 2)
		var e audit.Entry
		if err := json.Unmarshal(b.Get(k), &e); err != nil {
			return err
		}
		e.Target = "wang"
		data, _ := json.Marshal(e)
		return b.Put(k, data)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, "audit", "verify", "--data", dir)
	if !errors.Is(err, errAuditBroken) || !strings.Contains(err.Error(), "entry 2:") || !strings.Contains(err.Error(), "(hash)") {
		t.Fatalf("verify of a changed entry: %v\n%s", err, out)
	}
}
