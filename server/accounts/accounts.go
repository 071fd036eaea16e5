// Package accounts manages users, devices and sessions over a store.Store:
// sign-in with throttling, device enrolment, refresh-token rotation, the
// password policy and lifecycle. The CLI and the API both call it, so the
// rules live in one place; its errors are in errors.go.
package accounts

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/audit"
	"github.com/dengji/dengji/server/auth"
	"github.com/dengji/dengji/server/store"
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
// which is shown once and never stored. A generated password is one-time:
// it must be changed at the first sign-in.
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
		Created: time.Now().UTC(), MustChangePassword: nu.Password == ""}
	err = st.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.User(nu.Name); err == nil {
			return ErrExists
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := tx.PutUser(u); err != nil {
			return err
		}
		return audit.Append(ctx, tx, audit.UserCreated, u.Name, audit.D{"role": u.Role, "districts": u.Districts,
			"one_time_password": u.MustChangePassword})
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
	}
	for _, d := range nu.Districts {
		if !model.ScopeEntryValid(d) {
			return fmt.Errorf("%w: 选区 %q 不是已知的区划代码或选区代码 / scope entry %q is not a known division or district code", ErrInvalid, d, d)
		}
	}
	if nu.Password != "" {
		return CheckPassword("password", nu.Name, nu.Password)
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

// SetDisabled disables (or enables) a user. A disabled user's access tokens
// stop working at their next request, and every refresh token of theirs is
// deleted at once: enabling the user again does not revive them.
func SetDisabled(ctx context.Context, st store.Store, name string, disabled bool) error {
	return st.Update(ctx, func(tx store.Tx) error {
		u, err := tx.User(name)
		if err != nil {
			return err
		}
		u.Disabled = disabled
		if err := tx.PutUser(u); err != nil {
			return err
		}
		if !disabled {
			return audit.Append(ctx, tx, audit.UserEnabled, name, nil)
		}
		if err := audit.Append(ctx, tx, audit.UserDisabled, name, nil); err != nil {
			return err
		}
		return tx.DeleteUserRefreshTokens(name, "")
	})
}

// ResetPassword gives a user a generated one-time password, to be changed
// at the next sign-in, and ends every session of theirs. The password is
// returned to be shown once.
func ResetPassword(ctx context.Context, st store.Store, name string) (string, error) {
	password := auth.RandomPassword()
	hash, err := auth.HashPassword(password)
	if err != nil {
		return "", err
	}
	err = st.Update(ctx, func(tx store.Tx) error {
		u, err := tx.User(name)
		if err != nil {
			return err
		}
		u.PasswordHash, u.MustChangePassword, u.PasswordChanged = hash, true, time.Now().UTC()
		if err := tx.PutUser(u); err != nil {
			return err
		}
		if err := audit.Append(ctx, tx, audit.PasswordReset, name, nil); err != nil {
			return err
		}
		return tx.DeleteUserRefreshTokens(name, "")
	})
	return password, err
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
		if err := audit.Append(ctx, tx, audit.DeviceRevoked, id, audit.D{"user": d.User}); err != nil {
			return err
		}
		return tx.DeleteRefreshTokens(id)
	})
}

// EnsureAdmin creates the account "admin" with a random one-time password
// when the store has no user at all, and returns that password ("" if
// nothing was created). It must be changed at the first sign-in.
func EnsureAdmin(ctx context.Context, st store.Store) (string, error) {
	us, err := List(ctx, st)
	if err != nil || len(us) > 0 {
		return "", err
	}
	return Add(ctx, st, NewUser{Name: "admin", Role: store.RoleAdmin})
}

// settingSigningKey is where versions before the key file kept the token
// signing key, inside the data file.
const settingSigningKey = "jwt_signing_key"

// TakeLegacySigningKey returns the signing key an older version left in the
// data file (nil if none), for the caller to move into the key file; after
// it has, RemoveLegacySigningKey deletes it from the data file.
func TakeLegacySigningKey(ctx context.Context, st store.Store) ([]byte, error) {
	var key []byte
	err := st.View(ctx, func(tx store.Tx) error {
		k, err := tx.Setting(settingSigningKey)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		key = k
		return err
	})
	return key, err
}

// RemoveLegacySigningKey deletes the key TakeLegacySigningKey returned.
func RemoveLegacySigningKey(ctx context.Context, st store.Store) error {
	return st.Update(ctx, func(tx store.Tx) error { return tx.DeleteSetting(settingSigningKey) })
}
