package accounts

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dengji/dengji/server/audit"
	"github.com/dengji/dengji/server/auth"
	"github.com/dengji/dengji/server/store"
)

// Config sets sessions and sign-in throttling.
type Config struct {
	// SessionTTL is a session's absolute lifetime from its sign-in; refresh
	// token rotations never extend it.
	SessionTTL time.Duration
	// Grace is how long after a rotation the previous refresh token may be
	// presented once more, and gets the same pair again (an answer lost in
	// transit).
	Grace    time.Duration
	Throttle ThrottleConfig
}

// DefaultConfig is what a county server runs with.
func DefaultConfig() Config {
	return Config{SessionTTL: 30 * 24 * time.Hour, Grace: 60 * time.Second, Throttle: DefaultThrottle()}
}

// Service signs users in, enrols their devices and keeps their sessions.
// The HTTP API calls it, and so will the web console.
type Service struct {
	st       store.Store
	issuer   *auth.Issuer
	cfg      Config
	throttle *throttle
	now      func() time.Time
	checks   atomic.Int64 // bcrypt checks made, for tests and metrics
}

// NewService returns a service over st whose tokens issuer signs.
func NewService(st store.Store, issuer *auth.Issuer, cfg Config) *Service {
	return &Service{st: st, issuer: issuer, cfg: cfg, throttle: newThrottle(cfg.Throttle), now: time.Now}
}

// PasswordChecks is how many passwords the service checked with bcrypt.
func (s *Service) PasswordChecks() int64 { return s.checks.Load() }

// Tokens is what a sign-in, a refresh or a password change gives.
type Tokens struct {
	Access        string
	AccessExpires time.Time
	Refresh       string
	User          *store.User
}

// SignIn is a sign-in attempt.
type SignIn struct {
	Username, Password   string
	DeviceID, DeviceName string
	Source               string // the client's address, for throttling
}

// SignIn checks a password, throttled per account and source address, and
// enrols the device (first sign-in) or checks it is the user's. A one-time
// password gives a *ChangeRequiredError instead of tokens.
func (s *Service) SignIn(ctx context.Context, in SignIn) (*Tokens, error) {
	if in.DeviceID != "" {
		if err := CheckDeviceID(in.DeviceID); err != nil {
			return nil, err
		}
	}
	if len(in.Password) > MaxPasswordBytes {
		return nil, &PasswordError{"password", "密码超过 72 字节，不可能正确 / the password is over 72 bytes and cannot be right"}
	}
	ctx = audit.WithActor(ctx, audit.Actor{User: audit.ActorAnonymous, Device: in.DeviceID})
	u, err := s.checkPassword(ctx, in.Username, in.Password, in.Source)
	if err != nil {
		return nil, err
	}
	if u.MustChangePassword {
		tok, exp, err := s.issuer.IssueGrant(auth.Grant{User: u.Name, Device: in.DeviceID, Role: string(u.Role),
			Purpose: auth.PurposePassword})
		if err != nil {
			return nil, err
		}
		return nil, &ChangeRequiredError{Token: tok, Expires: exp}
	}
	return s.startSession(ctx, u, in.DeviceID, in.DeviceName)
}

// checkPassword reserves an attempt, checks the password outside any write
// transaction (bcrypt takes tens of milliseconds, and pushes must not wait
// for it), and records the outcome.
func (s *Service) checkPassword(ctx context.Context, name, password, source string) (*store.User, error) {
	if len(name) > 256 {
		name = name[:256]
	}
	tk, err := s.throttle.reserve(name, source)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() { tk.done(ok) }()
	if tk.delay > 0 {
		select {
		case <-time.After(tk.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var u *store.User
	err = s.st.View(ctx, func(tx store.Tx) error {
		var err error
		u, err = tx.User(name)
		return err
	})
	s.checks.Add(1)
	switch {
	case errors.Is(err, store.ErrNotFound):
		auth.CheckPassword(dummyHash(), password) // the same time as a real check: no user enumeration by timing
		return nil, s.failed(ctx, "", "unknown_user", ErrBadCredentials)
	case err != nil:
		return nil, err
	case !auth.CheckPassword(u.PasswordHash, password):
		return nil, s.failed(ctx, name, "bad_password", ErrBadCredentials)
	}
	ok = true
	if u.Disabled {
		return nil, s.failed(ctx, name, "user_disabled", ErrUserDisabled)
	}
	return u, nil
}

// failed records a failed sign-in in the audit log and returns refusal.
// The name tried is kept only if it is an account's: an unknown one may be
// a person's name, or a password typed in the wrong field. The entry is
// written even if the caller has gone.
func (s *Service) failed(ctx context.Context, account, reason string, refusal error) error {
	err := s.st.Update(context.WithoutCancel(ctx), func(tx store.Tx) error {
		return audit.Append(ctx, tx, audit.SignInFailed, account, audit.D{"reason": reason})
	})
	if err != nil {
		return err
	}
	return refusal
}

// dummyHash is checked against when the user does not exist.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := auth.HashPassword("dengji: no such user")
	return h
})

// startSession enrols the device and opens a session (a new refresh-token
// family) for it.
func (s *Service) startSession(ctx context.Context, u *store.User, device, deviceName string) (*Tokens, error) {
	now := s.now().UTC()
	refresh, family, hash := auth.NewRefreshToken()
	rt := &store.RefreshToken{Family: family, Hash: hash, User: u.Name, Device: device, Created: now,
		Expires: now.Add(s.cfg.SessionTTL), Rotated: now.Truncate(time.Second)}
	err := s.st.Update(ctx, func(tx store.Tx) error {
		if err := enroll(tx, u, device, deviceName, now); err != nil {
			return err
		}
		return tx.PutRefreshFamily(rt)
	})
	if err != nil {
		return nil, err
	}
	return s.pair(u, rt, refresh)
}

func (s *Service) pair(u *store.User, rt *store.RefreshToken, refresh string) (*Tokens, error) {
	access, exp, err := s.issuer.IssueGrant(auth.Grant{User: u.Name, Device: rt.Device, Role: string(u.Role), At: rt.Rotated})
	if err != nil {
		return nil, err
	}
	return &Tokens{Access: access, AccessExpires: exp, Refresh: refresh, User: u}, nil
}

func enroll(tx store.Tx, u *store.User, id, name string, now time.Time) error {
	if id == "" {
		return nil
	}
	d, err := tx.Device(id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return tx.PutDevice(&store.Device{ID: id, User: u.Name, Name: name, Enrolled: now, LastSeen: now})
	case err != nil:
		return err
	case d.IsRevoked():
		return ErrDeviceRevoked
	case d.User != u.Name:
		return ErrDeviceTaken
	}
	d.LastSeen = now
	return tx.PutDevice(d)
}

// Refresh trades a refresh token for a new pair. The token rotates: the
// one presented is used up. Presented again within the grace, once, it
// gets the same pair again; any other reuse revokes the whole session (a
// stolen token and its thief's successors die with it). A session ends at
// its absolute expiry, whatever the rotations.
func (s *Service) Refresh(ctx context.Context, token string) (*Tokens, error) {
	var out *Tokens
	var dead bool
	err := s.st.Update(ctx, func(tx store.Tx) error {
		out, dead = nil, false
		rt, next, err := s.rotate(ctx, tx, token, &dead)
		if err != nil || dead {
			return err
		}
		u, err := s.checkSession(tx, rt)
		if err != nil {
			return err
		}
		out, err = s.pair(u, rt, next)
		return err
	})
	if err == nil && dead {
		return nil, ErrBadRefresh
	}
	return out, err
}

// rotate finds the session of token and moves it on. dead reports a reuse
// or an expired session, which rotate deleted: the transaction must commit
// that, so the caller returns nil from it and ErrBadRefresh after.
func (s *Service) rotate(ctx context.Context, tx store.Tx, token string, dead *bool) (*store.RefreshToken, string, error) {
	now := s.now().UTC()
	family, ok := auth.RefreshFamily(token)
	if !ok {
		return s.upgradeLegacy(tx, token, now)
	}
	rt, err := tx.RefreshFamily(family)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", ErrBadRefresh
	}
	if err != nil {
		return nil, "", err
	}
	if now.After(rt.Expires) {
		if err := tx.DeleteRefreshFamily(family); err != nil {
			return nil, "", err
		}
		*dead = true
		return nil, "", nil
	}
	hash := auth.HashRefreshToken(token)
	switch {
	case hash == rt.Hash:
		next, nextHash := s.issuer.NextRefreshToken(token)
		rt.Previous, rt.Hash, rt.Rotated, rt.Replayed = hash, nextHash, now.Truncate(time.Second), false
		return rt, next, tx.PutRefreshFamily(rt)
	case hash == rt.Previous && !rt.Replayed && now.Sub(rt.Rotated) <= s.cfg.Grace:
		if next, ok := s.issuer.ReplayRefreshToken(token, rt.Hash); ok {
			rt.Replayed = true
			return rt, next, tx.PutRefreshFamily(rt)
		}
	}
	*dead = true // a reuse: the whole session goes
	ctx = audit.WithActor(ctx, audit.Actor{User: audit.ActorAnonymous})
	if err := audit.Append(ctx, tx, audit.RefreshReused, rt.User, audit.D{"device": rt.Device}); err != nil {
		return nil, "", err
	}
	return nil, "", tx.DeleteRefreshFamily(family)
}

// upgradeLegacy turns a refresh token of the older form (no family) into a
// session ending when the token would have, and uses it up.
func (s *Service) upgradeLegacy(tx store.Tx, token string, now time.Time) (*store.RefreshToken, string, error) {
	old, err := tx.RefreshToken(auth.HashRefreshToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", ErrBadRefresh
	}
	if err != nil {
		return nil, "", err
	}
	if err := tx.DeleteRefreshToken(old.Hash); err != nil {
		return nil, "", err
	}
	if now.After(old.Expires) {
		return nil, "", ErrBadRefresh
	}
	refresh, family, hash := auth.NewRefreshToken()
	rt := &store.RefreshToken{Family: family, Hash: hash, User: old.User, Device: old.Device, Created: now,
		Expires: old.Expires, Rotated: now.Truncate(time.Second)}
	return rt, refresh, tx.PutRefreshFamily(rt)
}

// checkSession checks the session's user and device as they are now.
func (s *Service) checkSession(tx store.Tx, rt *store.RefreshToken) (*store.User, error) {
	u, err := tx.User(rt.User)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrBadRefresh
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, ErrUserDisabled
	}
	if rt.Device == "" {
		return u, nil
	}
	d, err := tx.Device(rt.Device)
	if err != nil || d.IsRevoked() || d.User != u.Name {
		return nil, ErrDeviceRevoked
	}
	d.LastSeen = s.now().UTC()
	return u, tx.PutDevice(d)
}

// Logout ends the session a refresh token belongs to, whichever of its
// tokens it is. An unknown token is no error: the session is gone either way.
func (s *Service) Logout(ctx context.Context, token string) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		if family, ok := auth.RefreshFamily(token); ok {
			return tx.DeleteRefreshFamily(family)
		}
		return tx.DeleteRefreshToken(auth.HashRefreshToken(token))
	})
}

// PasswordChange is a user changing their own password.
type PasswordChange struct {
	User, Old, New string
	Device         string // the caller's device, whose session continues
	Source         string
}

// ChangePassword changes a user's own password after checking the old one
// (throttled like a sign-in: a stolen access token must not guess it). It
// ends every session of the user and opens a new one for the caller.
func (s *Service) ChangePassword(ctx context.Context, pc PasswordChange) (*Tokens, error) {
	if err := CheckPassword("new", pc.User, pc.New); err != nil {
		return nil, err
	}
	if pc.New == pc.Old {
		return nil, &PasswordError{"new", "新密码不能与旧密码相同 / the new password must differ from the old one"}
	}
	if len(pc.Old) > MaxPasswordBytes {
		return nil, ErrBadCredentials
	}
	ctx = audit.WithActor(ctx, audit.Actor{User: pc.User, Device: pc.Device})
	u, err := s.checkPassword(ctx, pc.User, pc.Old, pc.Source)
	if err != nil {
		return nil, err
	}
	hash, err := auth.HashPassword(pc.New)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	err = s.st.Update(ctx, func(tx store.Tx) error {
		cur, err := tx.User(u.Name)
		if err != nil {
			return err
		}
		cur.PasswordHash, cur.MustChangePassword, cur.PasswordChanged = hash, false, now
		if err := tx.PutUser(cur); err != nil {
			return err
		}
		u = cur
		if err := audit.Append(ctx, tx, audit.PasswordChanged, u.Name, nil); err != nil {
			return err
		}
		return tx.DeleteUserRefreshTokens(u.Name, "")
	})
	if err != nil {
		return nil, err
	}
	return s.startSession(ctx, u, pc.Device, "")
}

// Unlock forgets the failed sign-ins of an account, from every address.
func (s *Service) Unlock(ctx context.Context, name string) error {
	err := s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.User(name); err != nil {
			return err
		}
		return audit.Append(ctx, tx, audit.AccountUnlocked, name, nil)
	})
	if err == nil {
		s.throttle.unlock(name)
	}
	return err
}
