package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.etcd.io/bbolt"
)

type loginRequest struct {
	Username   string `json:"username"`
	Password   string `json:"password"`
	DeviceID   string `json:"device_id"`
	DeviceName string `json:"device_name"`
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"` // seconds
}

// Login signs the registrar in on this device and stores the tokens. A
// one-time password (a new account's, or one an administrator reset) gives
// an error for which errors.Is(err, ErrPasswordChangeRequired) is true: the
// registrar must choose a new password, and ChangePassword with the one-time
// password as old signs them in.
func (d *Device) Login(ctx context.Context, username, password string) error {
	body := loginRequest{Username: username, Password: password, DeviceID: d.id, DeviceName: d.opts.DeviceName}
	err := d.fetchTokens(ctx, "/v1/auth/login", body)
	var se *ServerError
	if errors.As(err, &se) && se.Code == CodePasswordChangeRequired {
		var det struct {
			PasswordToken string `json:"password_token"`
		}
		if json.Unmarshal(se.Details, &det) == nil && det.PasswordToken != "" {
			if serr := d.setSecret(keyPasswordToken, det.PasswordToken); serr != nil {
				return serr
			}
		}
	}
	return err
}

type passwordRequest struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// ChangePassword changes the registrar's password on the server and stores
// the new tokens it answers; the registrar's other devices are signed out.
// It works signed in, or after a Login that needed a password change.
func (d *Device) ChangePassword(ctx context.Context, oldPassword, newPassword string) error {
	req := request{method: http.MethodPost, path: "/v1/me/password", body: passwordRequest{Old: oldPassword, New: newPassword}}
	pending, err := d.secret(keyPasswordToken) // a Login that needed the change
	if err != nil {
		return err
	}
	req.bearer, req.auth = pending, pending == ""
	var tok tokenResponse
	if err := d.call(ctx, req, &tok); err != nil {
		return err
	}
	if err := d.keepTokens("/v1/me/password", &tok); err != nil {
		return err
	}
	return d.setSecret(keyPasswordToken, "")
}

// refresh exchanges the stored refresh token for new tokens (refresh tokens
// rotate: the new one replaces the old).
func (d *Device) refresh(ctx context.Context) error {
	rt, err := d.token(keyRefresh)
	if err != nil {
		return err
	}
	if rt == "" {
		return ErrNotLoggedIn
	}
	return d.fetchTokens(ctx, "/v1/auth/refresh", refreshRequest{RefreshToken: rt})
}

func (d *Device) fetchTokens(ctx context.Context, path string, body any) error {
	var tok tokenResponse
	if err := d.call(ctx, request{method: http.MethodPost, path: path, body: body}, &tok); err != nil {
		return err
	}
	return d.keepTokens(path, &tok)
}

// keepTokens stores the tokens path answered, and when the access token
// expires.
func (d *Device) keepTokens(path string, tok *tokenResponse) error {
	if tok.AccessToken == "" || tok.RefreshToken == "" {
		return fmt.Errorf("%w: %s gave no tokens", ErrProtocol, path)
	}
	if err := d.setTokens(tok.AccessToken, tok.RefreshToken); err != nil {
		return err
	}
	var until int64
	if tok.ExpiresIn > 0 { // by this device's clock, whatever the server's says
		until = d.opts.Now().Add(time.Duration(tok.ExpiresIn) * time.Second).UnixMilli()
	}
	return d.setAccessUntil(until)
}

// setAccessUntil keeps when the access token expires (unix ms by this
// device's clock, 0: not known), in memory and in the device file: an app
// started again after the token expired refreshes it before its first
// request, instead of a request refused first.
func (d *Device) setAccessUntil(until int64) error {
	d.accessUntil.Store(until)
	return d.db.Update(func(tx *bbolt.Tx) error { return putU64Tx(tx, keyAccessUntil, uint64(until)) })
}

// refreshAhead is how long before the access token expires it is
// refreshed: a request sent with a token about to expire costs a refused
// round trip and a second try.
const refreshAhead = time.Minute

// accessExpiring reports whether the access token expires within
// refreshAhead (false when its lifetime is not known, as for tokens an
// older SDK stored: the server's token_expired answer covers that).
func (d *Device) accessExpiring() bool {
	until := d.accessUntil.Load()
	return until != 0 && time.UnixMilli(until).Sub(d.opts.Now()) < refreshAhead
}

// Logout ends the session on the server, so the refresh token is dead
// even if a copy of it survives, then forgets the stored tokens; pending
// changes stay. Offline, the server is not reached (one try, no retries)
// and the tokens are forgotten all the same.
func (d *Device) Logout(ctx context.Context) error {
	if rt, err := d.token(keyRefresh); err == nil && rt != "" {
		body, _ := encodeBody(refreshRequest{RefreshToken: rt}, nil, false)
		d.once(ctx, request{method: http.MethodPost, path: "/v1/auth/logout"}, body, nil) // best effort
	}
	if err := d.setSecret(keyPasswordToken, ""); err != nil {
		return err
	}
	if err := d.setAccessUntil(0); err != nil {
		return err
	}
	return d.setTokens("", "")
}

// keyPasswordToken holds the token a sign-in with a one-time password
// answered, until ChangePassword uses it.
var keyPasswordToken = []byte("password_token")

// secret reads a credential other than the token pair: from the secret
// store if there is one, else from the device file.
func (d *Device) secret(key []byte) (string, error) { return d.token(key) }

// setSecret stores (or, given "", deletes) such a credential.
func (d *Device) setSecret(key []byte, v string) error {
	if s := d.opts.Secrets; s != nil {
		return s.SetSecret(string(key), v)
	}
	return d.db.Update(func(tx *bbolt.Tx) error {
		if v == "" {
			return tx.Bucket(bucketMeta).Delete(key)
		}
		return putStringTx(tx, key, v)
	})
}

// SecretStore keeps the device's tokens outside its bbolt file, in the
// platform's protected storage (Android Keystore, iOS Keychain): a copied or
// backed-up device file then carries no credentials. The SDK calls it from
// its own goroutines.
type SecretStore interface {
	// Secret returns the value stored under name, or "" if there is none.
	Secret(name string) (string, error)
	// SetSecret stores value under name; "" deletes it.
	SetSecret(name, value string) error
}

// token reads one token (keyAccess or keyRefresh).
func (d *Device) token(key []byte) (string, error) {
	if d.opts.Secrets != nil {
		return d.opts.Secrets.Secret(string(key))
	}
	var v string
	err := d.db.View(func(tx *bbolt.Tx) error { v = getStringTx(tx, key); return nil })
	return v, err
}

// setTokens stores both tokens; empty ones are deleted.
func (d *Device) setTokens(access, refresh string) error {
	if s := d.opts.Secrets; s != nil {
		if err := s.SetSecret(string(keyAccess), access); err != nil {
			return fmt.Errorf("store token: %w", err)
		}
		return s.SetSecret(string(keyRefresh), refresh)
	}
	return d.db.Update(func(tx *bbolt.Tx) error { return putTokensTx(tx, access, refresh) })
}

func putTokensTx(tx *bbolt.Tx, access, refresh string) error {
	for key, v := range map[string]string{string(keyAccess): access, string(keyRefresh): refresh} {
		var err error
		if v == "" {
			err = tx.Bucket(bucketMeta).Delete([]byte(key))
		} else {
			err = putStringTx(tx, []byte(key), v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// moveTokensTx hands tokens an older SDK kept in the file to the secret
// store, so the registrar stays signed in, and removes them from the file.
func moveTokensTx(tx *bbolt.Tx, s SecretStore) error {
	access, refresh := getStringTx(tx, keyAccess), getStringTx(tx, keyRefresh)
	if access == "" && refresh == "" {
		return nil
	}
	if err := s.SetSecret(string(keyAccess), access); err != nil {
		return fmt.Errorf("move token: %w", err)
	}
	if err := s.SetSecret(string(keyRefresh), refresh); err != nil {
		return fmt.Errorf("move token: %w", err)
	}
	if err := putTokensTx(tx, "", ""); err != nil {
		return err
	}
	return putStringTx(tx, keyRotate, "1")
}

// rotateMovedTokens exchanges tokens moveTokensTx moved, once: bbolt does
// not clear freed pages, so the file may still hold their bytes.
func (d *Device) rotateMovedTokens(ctx context.Context) error {
	var moved string
	if err := d.db.View(func(tx *bbolt.Tx) error { moved = getStringTx(tx, keyRotate); return nil }); err != nil || moved == "" {
		return err
	}
	if err := d.refresh(ctx); err != nil {
		return fmt.Errorf("exchange the tokens moved out of the device file: %w", err)
	}
	return d.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketMeta).Delete(keyRotate) })
}
