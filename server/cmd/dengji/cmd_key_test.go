package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dengji/dengji/server/auth"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/pgstore/pgtest"
)

// serveOnce starts the server on dir, waits until it serves, stops it and
// returns what it printed and its error.
func serveOnce(t *testing.T, dir string, extra ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", dir}, extra...), &out)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "serving on") && time.Now().Before(deadline) {
		select {
		case err := <-done:
			cancel()
			return out.String(), err
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	return out.String(), <-done
}

// The signing key lives beside the data directory, owner-only, never in the
// data file; a key an older version left in the data file is moved out.
func TestServe_KeyFile(t *testing.T) {
	t.Setenv("DENGJI_SIGNING_KEY", "")
	t.Setenv("DENGJI_KEY_FILE", "")
	dir := filepath.Join(t.TempDir(), "data")
	st, err := openStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	legacy := auth.NewKey()
	st.Update(context.Background(), func(tx store.Tx) error { return tx.PutSetting("jwt_signing_key", legacy) })
	st.Close()

	out, err := serveOnce(t, dir)
	if err != nil || !strings.Contains(out, "dengji key remove legacy") {
		t.Fatalf("first start: %v %q", err, out)
	}
	path := dir + ".keys"
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	ks, _ := auth.LoadKeyFile(path)
	if keys := ks.Keys(); len(keys) != 2 || keys[0].ID != auth.LegacyKeyID || string(keys[0].Secret) != string(legacy) {
		t.Fatalf("keys %v", keys)
	}
	st, _ = openStore(dir)
	st.View(context.Background(), func(tx store.Tx) error {
		if _, err := tx.Setting("jwt_signing_key"); err == nil {
			t.Error("the key is still in the data file")
		}
		return nil
	})
	st.Close()

	if out, err := runCLI(t, "key", "rotate", "--data", dir); err != nil || !strings.Contains(out, "new key") {
		t.Fatalf("rotate: %v %q", err, out)
	}
	if _, err := runCLI(t, "key", "remove", auth.LegacyKeyID, "--data", dir); err != nil {
		t.Fatal(err)
	}
	if out, _ := runCLI(t, "key", "list", "--data", dir); strings.Count(out, "\n") != 3 || strings.Contains(out, auth.LegacyKeyID) {
		t.Fatalf("list: %q", out)
	}

	os.Chmod(path, 0o644)
	if _, err := serveOnce(t, dir); err == nil || !strings.Contains(err.Error(), "0600") {
		t.Fatalf("a key file others may read: %v", err)
	}
}

func TestServe_KeyFromEnvironment(t *testing.T) {
	t.Setenv("DENGJI_SIGNING_KEY", "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=")
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := serveOnce(t, dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir + ".keys"); !os.IsNotExist(err) {
		t.Fatalf("a key file was written although the environment holds the key: %v", err)
	}
	t.Setenv("DENGJI_SIGNING_KEY", "c2hvcnQ=")
	if _, err := serveOnce(t, dir); err == nil {
		t.Fatal("a short key must be refused")
	}
}

func TestUser_ResetPassword(t *testing.T) {
	dir := t.TempDir()
	if _, err := runCLI(t, "user", "add", "li", "--role", "admin", "--password", "li-password", "--data", dir); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "user", "reset-password", "li", "--data", dir)
	if err != nil || !strings.Contains(out, "one-time password") {
		t.Fatalf("%q %v", out, err)
	}
	if _, err := runCLI(t, "user", "reset-password", "ghost", "--data", dir); err == nil {
		t.Fatal("an unknown user")
	}
}

// On PostgreSQL a server needs the signing keys given (every server must
// sign alike): without them serve refuses to start and writes nothing, not
// even the first admin account (whose one-time password would be lost).
func TestServe_PostgresWithoutKeysWritesNothing(t *testing.T) {
	t.Setenv("DENGJI_SIGNING_KEY", "")
	t.Setenv("DENGJI_KEY_FILE", "")
	pg := pgtest.URL(t)
	if _, err := serveOnce(t, pg); err == nil || !strings.Contains(err.Error(), "--key-file") {
		t.Fatalf("serve on PostgreSQL without keys: %v", err)
	}
	out, err := runCLI(t, "user", "list", "--store", pg)
	if err != nil || strings.Contains(out, "admin") {
		t.Fatalf("accounts after the refused start: %v\n%s", err, out)
	}
}
