package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dengji/dengji/server/store/boltstore"
)

// backup, backup list and restore at the command line: the restore gives
// a new generation, keeps the replaced file and is audited; a running
// server's directory is refused.
func TestBackup_Restore(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if _, err := runCLI(t, "backup", "--data", data); err == nil {
		t.Fatal("backup of no data must fail")
	}
	if _, err := runCLI(t, "user", "add", "li", "--role", "admin", "--data", data); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "backup", "--data", data, "--keep", "2")
	if err != nil || !strings.Contains(out, "已备份 / backed up") {
		t.Fatalf("backup: %v %s", err, out)
	}
	file := regexp.MustCompile(`backed up: (\S+\.db)`).FindStringSubmatch(out)[1]
	if filepath.Dir(file) != data+".backups" {
		t.Fatalf("backup in %s, want beside the data directory", file)
	}
	if _, err := runCLI(t, "user", "add", "wang", "--role", "admin", "--data", data); err != nil {
		t.Fatal(err)
	}
	list, err := runCLI(t, "backup", "list", "--data", data)
	if err != nil || !strings.Contains(list, filepath.Base(file)) {
		t.Fatalf("list: %v %s", err, list)
	}
	out, err = runCLI(t, "restore", file, "--data", data)
	if err != nil || !strings.Contains(out, "new generation") || !strings.Contains(out, "before-restore") {
		t.Fatalf("restore: %v %s", err, out)
	}
	users, _ := runCLI(t, "user", "list", "--data", data)
	if !strings.Contains(users, "li") || strings.Contains(users, "wang") {
		t.Fatalf("after the restore: %s", users)
	}
	audit, _ := runCLI(t, "audit", "list", "--data", data)
	if !strings.Contains(audit, "restored") {
		t.Fatalf("restore not audited: %s", audit)
	}
	out, err = runCLI(t, "restore", "--new-generation", "--data", data)
	if err != nil || !strings.Contains(out, "new generation") {
		t.Fatalf("restore --new-generation: %v %s", err, out)
	}
	if _, err := runCLI(t, "restore", file, "--new-generation", "--data", data); err == nil {
		t.Fatal("a file and --new-generation together must be refused")
	}
	// A new disk: the data directory does not exist yet.
	fresh := filepath.Join(t.TempDir(), "new-disk", "data")
	out, err = runCLI(t, "restore", file, "--data", fresh)
	if err != nil || strings.Contains(out, "before-restore") {
		t.Fatalf("restore onto a new disk: %v %s", err, out)
	}
	if users, _ := runCLI(t, "user", "list", "--data", fresh); !strings.Contains(users, "li") {
		t.Fatalf("restored onto a new disk: %s", users)
	}
	st, err := boltstore.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := runCLI(t, "restore", file, "--data", data); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("restore under a running server: %v", err)
	}
}
