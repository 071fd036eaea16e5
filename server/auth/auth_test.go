package auth

import (
	"errors"
	"testing"
	"time"
)

func TestIssuer_VerifyOK(t *testing.T) {
	i := NewIssuer(NewKey(), time.Minute)
	tok, _, err := i.Issue("li", "dev1", "registrar")
	if err != nil {
		t.Fatal(err)
	}
	c, err := i.Verify(tok)
	if err != nil || c.Subject != "li" || c.Device != "dev1" || c.Role != "registrar" {
		t.Fatalf("claims %+v %v", c, err)
	}
}

func TestIssuer_ErrTokenExpired(t *testing.T) {
	i := NewIssuer(NewKey(), time.Minute)
	tok, _, _ := i.Issue("li", "", "admin")
	i.now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	if _, err := i.Verify(tok); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("err %v", err)
	}
}

func TestIssuer_ErrTokenInvalid(t *testing.T) {
	tok, _, _ := NewIssuer(NewKey(), time.Minute).Issue("li", "", "admin")
	if _, err := NewIssuer(NewKey(), time.Minute).Verify(tok); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("a token of another key: %v", err)
	}
	if _, err := NewIssuer(NewKey(), time.Minute).Verify("garbage"); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("garbage: %v", err)
	}
}

func TestPassword(t *testing.T) {
	h, err := HashPassword("秘密 secret")
	if err != nil || !CheckPassword(h, "秘密 secret") || CheckPassword(h, "secret") {
		t.Fatal("password check")
	}
	if p := RandomPassword(); len(p) != 16 || p == RandomPassword() {
		t.Fatal("random password")
	}
}
