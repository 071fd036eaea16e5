package e2e

import (
	"errors"
	"sync"
	"testing"

	sdk "github.com/dengji/dengji/client-sdk"
	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/store"
)

// The SDK changes a password on the real server: signed in, and after a
// sign-in with a one-time password.
func TestSDK_ChangePassword(t *testing.T) {
	s := startServer(t)
	s.addUser(t, "li", store.RoleRegistrar, "430102001001")
	d := s.device(t, "li", s.URL(), sdk.Options{})
	must(t, d.ChangePassword(ctx, "li-password", "li-new-password"))
	mustSync(t, d) // signed in with the tokens the change answered
	if err := d.Login(ctx, "li", "li-password"); err == nil {
		t.Fatal("the old password still signs in")
	}
	must(t, d.Login(ctx, "li", "li-new-password"))

	otp, err := accounts.ResetPassword(ctx, s.st, "li")
	must(t, err)
	err = d.Login(ctx, "li", otp)
	if !errors.Is(err, sdk.ErrPasswordChangeRequired) {
		t.Fatalf("a one-time password: %v", err)
	}
	must(t, d.ChangePassword(ctx, otp, "li-third-password"))
	mustSync(t, d)
}

// Logout ends the session on the server: the refresh token a copy of the
// device might hold is dead.
func TestSDK_LogoutEndsServerSession(t *testing.T) {
	s := startServer(t)
	s.addUser(t, "li", store.RoleRegistrar, "430102001001")
	secrets := &mapSecrets{m: map[string]string{}}
	d := s.device(t, "li", s.URL(), sdk.Options{Secrets: secrets})
	stolen := secrets.get("refresh_token")
	if stolen == "" {
		t.Fatal("no refresh token stored")
	}
	must(t, d.Logout(ctx))
	if _, err := s.Accounts().Refresh(ctx, stolen); !errors.Is(err, accounts.ErrBadRefresh) {
		t.Fatalf("the refresh token after logout: %v", err)
	}
	if _, err := d.Sync(ctx); !errors.Is(err, sdk.ErrNotLoggedIn) {
		t.Fatalf("sync after logout: %v", err)
	}
}

type mapSecrets struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *mapSecrets) get(k string) string { s.mu.Lock(); defer s.mu.Unlock(); return s.m[k] }

func (s *mapSecrets) Secret(k string) (string, error) { return s.get(k), nil }

func (s *mapSecrets) SetSecret(k, v string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v == "" {
		delete(s.m, k)
	} else {
		s.m[k] = v
	}
	return nil
}
