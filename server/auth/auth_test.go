package auth

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func newIssuer(t *testing.T, ks *KeySet, ttl time.Duration) *Issuer {
	t.Helper()
	i, err := NewIssuer(ks, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func TestIssuer_VerifyOK(t *testing.T) {
	i := newIssuer(t, NewKeySet(), time.Minute)
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
	i := newIssuer(t, NewKeySet(), time.Minute)
	tok, _, _ := i.Issue("li", "", "admin")
	i.now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	if _, err := i.Verify(tok); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("err %v", err)
	}
}

func TestIssuer_ErrTokenInvalid(t *testing.T) {
	tok, _, _ := newIssuer(t, NewKeySet(), time.Minute).Issue("li", "", "admin")
	if _, err := newIssuer(t, NewKeySet(), time.Minute).Verify(tok); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("a token of another key: %v", err)
	}
	if _, err := newIssuer(t, NewKeySet(), time.Minute).Verify("garbage"); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("garbage: %v", err)
	}
}

// A token signed with the server's own key but living longer than the
// server issues tokens for, or with no expiry or no iat, is refused.
func TestIssuer_LifetimeCapped(t *testing.T) {
	ks := NewKeySet()
	i := newIssuer(t, ks, 15*time.Minute)
	k := ks.signing()
	now := time.Now()
	forge := func(c jwt.MapClaims) string {
		tk := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
		tk.Header["kid"] = k.ID
		s, err := tk.SignedString(k.Secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for name, c := range map[string]jwt.MapClaims{
		"TenYears": {"sub": "admin", "role": "admin", "iss": "dengji", "iat": now.Unix(), "exp": now.AddDate(10, 0, 0).Unix()},
		"NoExp":    {"sub": "admin", "role": "admin", "iss": "dengji", "iat": now.Unix()},
		"NoIat":    {"sub": "admin", "role": "admin", "iss": "dengji", "exp": now.Add(time.Minute).Unix()},
		"Future":   {"sub": "admin", "role": "admin", "iss": "dengji", "iat": now.Add(time.Hour).Unix(), "exp": now.Add(time.Hour + time.Minute).Unix()},
	} {
		if _, err := i.Verify(forge(c)); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestIssuer_PurposeKeptApart(t *testing.T) {
	i := newIssuer(t, NewKeySet(), 15*time.Minute)
	pw, _, _ := i.IssueGrant(Grant{User: "admin", Role: "admin", Purpose: PurposePassword})
	if _, err := i.Verify(pw); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("a password-change token used as an access token: %v", err)
	}
	if _, err := i.VerifyPurpose(pw, PurposePassword); err != nil {
		t.Fatal(err)
	}
	access, _, _ := i.Issue("admin", "", "admin")
	if _, err := i.VerifyPurpose(access, PurposePassword); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("an access token used as a password-change token: %v", err)
	}
}

func TestIssuer_SameGrantSameToken(t *testing.T) {
	i := newIssuer(t, NewKeySet(), time.Minute)
	at := time.Now()
	a, _, _ := i.IssueGrant(Grant{User: "li", Device: "d1", Role: "registrar", At: at})
	b, _, _ := i.IssueGrant(Grant{User: "li", Device: "d1", Role: "registrar", At: at})
	if a != b {
		t.Fatal("one grant at one second must sign to one token")
	}
}

func TestKeyFile_RotateAndRemove(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	ks, created, err := OpenKeyFile(path, nil)
	if err != nil || !created {
		t.Fatal(created, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode().Perm())
	}
	old := newIssuer(t, ks, time.Minute)
	tok, _, _ := old.Issue("li", "", "registrar")
	oldID := ks.signing().ID

	newID, err := RotateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ks, _, err = OpenKeyFile(path, nil)
	if err != nil || len(ks.Keys()) != 2 || ks.signing().ID != newID {
		t.Fatalf("after rotate: %v %v", ks.Keys(), err)
	}
	rotated := newIssuer(t, ks, time.Minute)
	if _, err := rotated.Verify(tok); err != nil {
		t.Fatalf("a token of the older key must verify until it is removed: %v", err)
	}
	if err := RemoveKey(path, newID); err == nil {
		t.Fatal("the signing key must not be removable")
	}
	if err := RemoveKey(path, oldID); err != nil {
		t.Fatal(err)
	}
	ks, _ = LoadKeyFile(path)
	if _, err := newIssuer(t, ks, time.Minute).Verify(tok); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("a token of a removed key: %v", err)
	}
}

func TestKeyFile_ErrKeyFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	if _, _, err := OpenKeyFile(path, nil); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o644)
	if _, _, err := OpenKeyFile(path, nil); !errors.Is(err, ErrKeyFileMode) {
		t.Fatalf("a world-readable key file: %v", err)
	}
}

func TestParseEnvKeys(t *testing.T) {
	if _, err := ParseEnvKeys("c2hvcnQ="); !errors.Is(err, ErrBadKey) {
		t.Fatalf("a short key: %v", err)
	}
	ks, err := ParseEnvKeys("MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=, YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY=")
	if err != nil || len(ks.Keys()) != 2 || ks.signing().ID == ks.Keys()[0].ID {
		t.Fatalf("%v %v", ks, err)
	}
}

func TestRefreshToken_Rotation(t *testing.T) {
	i := newIssuer(t, NewKeySet(), time.Minute)
	tok, family, _ := NewRefreshToken()
	if f, ok := RefreshFamily(tok); !ok || f != family {
		t.Fatalf("family %q %v", f, ok)
	}
	next, hash := i.NextRefreshToken(tok)
	if f, _ := RefreshFamily(next); f != family || next == tok {
		t.Fatal("the next token stays in the family and differs")
	}
	if again, ok := i.ReplayRefreshToken(tok, hash); !ok || again != next {
		t.Fatal("replay must give the same next token")
	}
	if _, ok := newIssuer(t, NewKeySet(), time.Minute).ReplayRefreshToken(tok, hash); ok {
		t.Fatal("another server's key must not find the next token")
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
