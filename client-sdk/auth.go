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
	var rt string
	if err := d.db.View(func(tx *bbolt.Tx) error { rt = getStringTx(tx, keyRefresh); return nil }); err != nil {
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
	return d.db.Update(func(tx *bbolt.Tx) error {
		if err := putStringTx(tx, keyAccess, tok.AccessToken); err != nil {
			return err
		}
		return putStringTx(tx, keyRefresh, tok.RefreshToken)
	})
}

// Logout forgets the stored tokens; pending changes stay.
func (d *Device) Logout() error {
	return d.db.Update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket(bucketMeta).Delete(keyAccess); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Delete(keyRefresh)
	})
}
