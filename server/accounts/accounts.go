// Package accounts manages users, devices and the token signing key over a
// store.Store. The CLI and the admin API both call it, so the rules live in
// one place.
package accounts

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/dengji/dengji/server/auth"
	"github.com/dengji/dengji/server/store"
)

// Errors callers switch on.
var (
	// ErrExists means a user of that name exists already.
	ErrExists = errors.New("accounts: 用户名已存在 / user exists")
	// ErrInvalid means a user's name, role or districts are not acceptable.
	ErrInvalid = errors.New("accounts: invalid user")
)

var userName = regexp.MustCompile(`^[\p{L}\p{N}_.@-]{2,64}$`)

// NewUser describes an account to create.
type NewUser struct {
	Name      string
	Role      store.Role
	Districts []string
	Password  string // empty: generate one
}

// Add creates a user and returns the password (generated if none was given),
// which is shown once and never stored.
func Add(ctx context.Context, st store.Store, nu NewUser) (password string, err error) {
	if err := check(nu); err != nil {
		return "", err
	}
	password = nu.Password
	if password == "" {
		password = auth.RandomPassword()
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return "", err
	}
	u := &store.User{Name: nu.Name, Role: nu.Role, Districts: nu.Districts, PasswordHash: hash,
		Created: time.Now().UTC()}
	err = st.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.User(nu.Name); err == nil {
			return ErrExists
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return tx.PutUser(u)
	})
	return password, err
}

func check(nu NewUser) error {
	switch {
	case !userName.MatchString(nu.Name):
		return fmt.Errorf("%w: 用户名须为 2-64 个字母、数字或 _.@- / name must be 2-64 letters, digits or _.@-", ErrInvalid)
	case !nu.Role.Valid():
		return fmt.Errorf("%w: 角色须为 registrar、coordinator 或 admin / role must be registrar, coordinator or admin", ErrInvalid)
	case nu.Role != store.RoleAdmin && len(nu.Districts) == 0:
		return fmt.Errorf("%w: %s 至少需要一个选区 / a %s needs at least one district", ErrInvalid, nu.Role, nu.Role)
	case nu.Password != "" && len(nu.Password) < 8:
		return fmt.Errorf("%w: 密码至少 8 个字符 / password must be at least 8 characters", ErrInvalid)
	}
	return nil
}

// List returns every user, sorted by name.
func List(ctx context.Context, st store.Store) ([]store.User, error) {
	var us []store.User
	err := st.View(ctx, func(tx store.Tx) error {
		var err error
		us, err = tx.Users()
		return err
	})
	sort.Slice(us, func(i, j int) bool { return us[i].Name < us[j].Name })
	return us, err
}

// SetDisabled disables (or enables) a user. A disabled user's tokens stop
// working at their next request.
func SetDisabled(ctx context.Context, st store.Store, name string, disabled bool) error {
	return st.Update(ctx, func(tx store.Tx) error {
		u, err := tx.User(name)
		if err != nil {
			return err
		}
		u.Disabled = disabled
		return tx.PutUser(u)
	})
}

// Devices returns every enrolled device, newest first.
func Devices(ctx context.Context, st store.Store) ([]store.Device, error) {
	var ds []store.Device
	err := st.View(ctx, func(tx store.Tx) error {
		var err error
		ds, err = tx.Devices()
		return err
	})
	sort.Slice(ds, func(i, j int) bool { return ds[i].Enrolled.After(ds[j].Enrolled) })
	return ds, err
}

// Revoke withdraws a device (a lost phone): its access tokens are refused from
// the next request on and its refresh tokens are deleted.
func Revoke(ctx context.Context, st store.Store, id string) error {
	return st.Update(ctx, func(tx store.Tx) error {
		d, err := tx.Device(id)
		if err != nil {
			return err
		}
		if !d.IsRevoked() {
			d.Revoked = time.Now().UTC()
		}
		if err := tx.PutDevice(d); err != nil {
			return err
		}
		return tx.DeleteRefreshTokens(id)
	})
}

// EnsureAdmin creates the account "admin" with a random password when the
// store has no user at all, and returns that password ("" if nothing was
// created).
func EnsureAdmin(ctx context.Context, st store.Store) (string, error) {
	us, err := List(ctx, st)
	if err != nil || len(us) > 0 {
		return "", err
	}
	return Add(ctx, st, NewUser{Name: "admin", Role: store.RoleAdmin})
}

const settingSigningKey = "jwt_signing_key"

// SigningKey returns the token signing key, making one on first use. It lives
// in the data directory, never in configuration or the repository.
func SigningKey(ctx context.Context, st store.Store) ([]byte, error) {
	var key []byte
	err := st.Update(ctx, func(tx store.Tx) error {
		k, err := tx.Setting(settingSigningKey)
		if errors.Is(err, store.ErrNotFound) {
			k = auth.NewKey()
			err = tx.PutSetting(settingSigningKey, k)
		}
		key = k
		return err
	})
	return key, err
}
