package sdk

import (
	"context"
	"errors"
	"testing"
)

func TestDevice_ChangePassword(t *testing.T) {
	srv := newFakeServer(t)
	d, _ := mustOpen(t, Options{ServerURL: srv.URL})
	check(t, d.Login(context.Background(), "registrar", "secret"))
	check(t, d.ChangePassword(context.Background(), "secret", "new-secret-1"))
	if rt, _ := d.token(keyRefresh); !srv.refresh[rt] {
		t.Fatal("the change's tokens were not stored")
	}
	var se *ServerError
	if err := d.ChangePassword(context.Background(), "wrong", "x"); !errors.As(err, &se) || se.Code != "invalid_credentials" {
		t.Fatalf("a wrong old password: %v", err)
	}
}

// A one-time password: Login fails with ErrPasswordChangeRequired, and
// ChangePassword with the one-time password signs the device in.
func TestDevice_ChangePasswordAfterOneTimeLogin(t *testing.T) {
	srv := newFakeServer(t)
	srv.oneTime = true
	d, _ := mustOpen(t, Options{ServerURL: srv.URL})
	if err := d.Login(context.Background(), "registrar", "secret"); !errors.Is(err, ErrPasswordChangeRequired) {
		t.Fatalf("login: %v", err)
	}
	check(t, d.ChangePassword(context.Background(), "secret", "new-secret-1"))
	if access, _ := d.token(keyAccess); access == "" {
		t.Fatal("not signed in after the change")
	}
	if pending, _ := d.secret(keyPasswordToken); pending != "" {
		t.Fatal("the password-change token was kept")
	}
}

// Logout tells the server, then forgets the tokens; offline it still
// forgets them.
func TestDevice_LogoutEndsServerSession(t *testing.T) {
	srv := newFakeServer(t)
	d, _ := mustOpen(t, Options{ServerURL: srv.URL})
	check(t, d.Login(context.Background(), "registrar", "secret"))
	rt, _ := d.token(keyRefresh)
	check(t, d.Logout(context.Background()))
	if srv.refresh[rt] || srv.count("/v1/auth/logout") != 1 {
		t.Fatal("the server-side refresh token survived the logout")
	}
	check(t, d.Login(context.Background(), "registrar", "secret"))
	srv.Close()
	check(t, d.Logout(context.Background()))
	if rt, _ := d.token(keyRefresh); rt != "" {
		t.Fatal("an offline logout kept the tokens")
	}
}
