package sdk

import (
	"bytes"
	"context"
	"os"
	"sync"
	"testing"

	"go.etcd.io/bbolt"
)

// memSecrets is a SecretStore in memory, as an app's keystore wrapper would
// behave.
type memSecrets struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *memSecrets) Secret(name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[name], nil
}

func (s *memSecrets) SetSecret(name, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if value == "" {
		delete(s.m, name)
	} else {
		s.m[name] = value
	}
	return nil
}

// With a secret store, the device file never holds a token, so a copy of it
// signs nobody in.
func TestSecrets_TokensStayOutOfTheFile(t *testing.T) {
	srv := newFakeServer(t)
	secrets := &memSecrets{m: map[string]string{}}
	path := t.TempDir() + "/device.db"
	d := mustOpenPath(t, path, Options{ServerURL: srv.URL, Secrets: secrets})
	check(t, d.Login(context.Background(), "registrar", "secret"))
	must[string](t)(d.Create("registration", "110101001001", jsonFields(map[string]string{"name": "a"})))
	srv.mu.Lock()
	srv.expire = true // the refresh goes through the store too
	srv.mu.Unlock()
	if rep := mustSync(t, d); rep.Pushed["applied"] != 1 {
		t.Fatalf("sync: %+v", rep)
	}
	access, refresh := secrets.m["access_token"], secrets.m["refresh_token"]
	if access == "" || refresh == "" || srv.count("/v1/auth/refresh") != 1 {
		t.Fatalf("tokens in the store: %v after %d refreshes", secrets.m, srv.count("/v1/auth/refresh"))
	}
	check(t, d.Close())
	file, err := os.ReadFile(path)
	check(t, err)
	if bytes.Contains(file, []byte(access)) || bytes.Contains(file, []byte(refresh)) {
		t.Fatal("a token is in the device file")
	}
	d = mustOpenPath(t, path, Options{Secrets: secrets})
	check(t, d.Logout(context.Background()))
	if len(secrets.m) != 0 {
		t.Fatalf("logout left %v", secrets.m)
	}
}

// A device signed in by an SDK that kept tokens in the file stays signed in
// when the app brings a secret store, and the file is emptied of them.
func TestSecrets_TokensMoveOutOfTheFile(t *testing.T) {
	srv := newFakeServer(t)
	path := t.TempDir() + "/device.db"
	d := mustOpenPath(t, path, Options{ServerURL: srv.URL, BackoffBase: 1})
	check(t, d.Login(context.Background(), "registrar", "secret"))
	check(t, d.Close())

	secrets := &memSecrets{m: map[string]string{}}
	d = mustOpenPath(t, path, Options{Secrets: secrets, BackoffBase: 1})
	var left string
	d.db.View(func(tx *bbolt.Tx) error { left = getStringTx(tx, keyAccess) + getStringTx(tx, keyRefresh); return nil })
	if left != "" || secrets.m["access_token"] == "" || secrets.m["refresh_token"] == "" {
		t.Fatalf("file kept %q, store has %v", left, secrets.m)
	}
	moved := secrets.m["refresh_token"]
	mustSync(t, d) // still signed in
	mustSync(t, d)
	if srv.count("/v1/auth/login") != 1 {
		t.Fatal("the move must not need a new login")
	}
	// The moved tokens were exchanged once, at the first sync: the copies
	// left in the file's free pages are spent.
	if srv.count("/v1/auth/refresh") != 1 || secrets.m["refresh_token"] == moved {
		t.Fatalf("%d refreshes; refresh token still %q", srv.count("/v1/auth/refresh"), moved)
	}
}
