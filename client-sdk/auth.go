package sdk

import (
	"context"
	"fmt"
	"net/http"

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

// Login signs the registrar in on this device and stores the tokens.
func (d *Device) Login(ctx context.Context, username, password string) error {
	body := loginRequest{Username: username, Password: password, DeviceID: d.id, DeviceName: d.opts.DeviceName}
	return d.fetchTokens(ctx, "/v1/auth/login", body)
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
	if tok.AccessToken == "" || tok.RefreshToken == "" {
		return fmt.Errorf("%w: %s gave no tokens", ErrProtocol, path)
	}
	return d.setTokens(tok.AccessToken, tok.RefreshToken)
}

// Logout forgets the stored tokens; pending changes stay.
func (d *Device) Logout() error { return d.setTokens("", "") }

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
