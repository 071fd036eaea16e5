package accounts

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dengji/dengji/server/auth"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore/bolttest"
)

var ctx = context.Background()

// newService is a service over a fresh store with one registrar, li, and a
// clock the test moves.
func newService(t *testing.T) (*Service, *time.Time) {
	t.Helper()
	st := bolttest.Open(t)
	if _, err := Add(ctx, st, NewUser{Name: "li", Role: store.RoleRegistrar, Districts: []string{"430102001001"},
		Password: "li-password"}); err != nil {
		t.Fatal(err)
	}
	issuer, err := auth.NewIssuer(auth.NewKeySet(), 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	s := NewService(st, issuer, DefaultConfig())
	now := time.Now()
	s.now = func() time.Time { return now }
	return s, &now
}

// A session ends 30 days after its sign-in, however often it rotated.
func TestService_SessionAbsoluteLifetime(t *testing.T) {
	s, now := newService(t)
	tk, err := s.SignIn(ctx, SignIn{Username: "li", Password: "li-password", DeviceID: "phone-1"})
	if err != nil {
		t.Fatal(err)
	}
	for day := 0; day < 29; day++ {
		*now = now.Add(24 * time.Hour)
		if tk, err = s.Refresh(ctx, tk.Refresh); err != nil {
			t.Fatalf("day %d: %v", day+1, err)
		}
	}
	*now = now.Add(24*time.Hour + time.Minute)
	if _, err := s.Refresh(ctx, tk.Refresh); !errors.Is(err, ErrBadRefresh) {
		t.Fatalf("after 30 days: %v", err)
	}
}

// The grace for a lost answer runs out: after it, the previous token is a
// reuse and revokes the session.
func TestService_GraceExpires(t *testing.T) {
	s, now := newService(t)
	t0, _ := s.SignIn(ctx, SignIn{Username: "li", Password: "li-password"})
	t1, err := s.Refresh(ctx, t0.Refresh)
	if err != nil {
		t.Fatal(err)
	}
	*now = now.Add(61 * time.Second)
	if _, err := s.Refresh(ctx, t0.Refresh); !errors.Is(err, ErrBadRefresh) {
		t.Fatalf("replay after the grace: %v", err)
	}
	if _, err := s.Refresh(ctx, t1.Refresh); !errors.Is(err, ErrBadRefresh) {
		t.Fatalf("the session after a late replay: %v", err)
	}
}

// A token of the older form (no family) is taken once into a session that
// ends when the token would have.
func TestService_LegacyRefreshToken(t *testing.T) {
	s, now := newService(t)
	legacy := "legacy-token-of-an-older-version"
	exp := now.Add(48 * time.Hour).UTC()
	s.st.Update(ctx, func(tx store.Tx) error {
		return tx.PutRefreshToken(&store.RefreshToken{Hash: auth.HashRefreshToken(legacy), User: "li", Expires: exp})
	})
	tk, err := s.Refresh(ctx, legacy)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Refresh(ctx, legacy); !errors.Is(err, ErrBadRefresh) {
		t.Fatalf("an older token twice: %v", err)
	}
	*now = now.Add(49 * time.Hour)
	if _, err := s.Refresh(ctx, tk.Refresh); !errors.Is(err, ErrBadRefresh) {
		t.Fatalf("past the older token's expiry: %v", err)
	}
}

func TestThrottle_LockGrowsAndExpires(t *testing.T) {
	th := newThrottle(DefaultThrottle())
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	th.now = func() time.Time { return now }
	try := func(ok bool) error {
		tk, err := th.reserve("li", "10.0.0.1")
		if err == nil {
			tk.done(ok)
		}
		return err
	}
	for i := 0; i < 5; i++ {
		if err := try(false); err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	var te *ThrottledError
	if err := try(true); !errors.As(err, &te) || te.RetryAfter != time.Minute {
		t.Fatalf("after five failures: %v", err)
	}
	now = now.Add(time.Minute)
	if err := try(false); err != nil {
		t.Fatalf("after the lock ran out: %v", err)
	}
	if err := try(true); !errors.As(err, &te) || te.RetryAfter != 2*time.Minute {
		t.Fatalf("the next lock doubles: %v", err)
	}
	if _, err := th.reserve("li", "10.0.0.2"); err != nil {
		t.Fatalf("another address: %v", err)
	}
	th.unlock("LI")
	if err := try(true); err != nil {
		t.Fatalf("after unlock: %v", err)
	}
}

func TestThrottle_AddressAcrossAccounts(t *testing.T) {
	th := newThrottle(DefaultThrottle())
	for i := 0; i < th.cfg.AddrMax; i++ {
		tk, err := th.reserve("user"+string(rune('a'+i%26))+string(rune('a'+i/26)), "10.0.0.1")
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		tk.done(false)
	}
	if _, err := th.reserve("someone-else", "10.0.0.1"); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("an address that failed on many accounts: %v", err)
	}
	if _, err := th.reserve("someone-else", "10.0.0.2"); err != nil {
		t.Fatalf("another address: %v", err)
	}
}

func TestCheckPassword_Policy(t *testing.T) {
	for pw, ok := range map[string]bool{
		"0123456789": true,
		"012345678":  false,
		"密码密码密码密码密码": true, // 10 characters
		"密码密码密码密码密码密码密码密码密码密码密码密码密码": false, // 25 characters, 75 bytes
		"LI-PASSWORD": true,
		"li-account":  false, // the user name
	} {
		if err := CheckPassword("password", "li-account", pw); (err == nil) != ok {
			t.Errorf("%q: %v", pw, err)
		}
	}
}
