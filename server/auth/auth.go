// Package auth issues and checks the server's credentials: bcrypt password
// hashes, short-lived JWT access tokens (HS256, golang-jwt/jwt/v5) signed by
// keys kept outside the data file, and refresh tokens in families, stored
// only as hashes.
package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"
)

// Errors of token checks.
var (
	// ErrTokenExpired means the access token is past its expiry: refresh it.
	ErrTokenExpired = errors.New("auth: token expired")
	// ErrTokenInvalid means the token is malformed, not signed by a key of
	// this server, signed by a removed key, lives longer than the server
	// issues tokens for, or is meant for another purpose.
	ErrTokenInvalid = errors.New("auth: token invalid")
)

// PurposePassword marks a token that may only change its user's password
// (the answer to a sign-in whose password must be changed first).
const PurposePassword = "password"

// passwordTokenTTL is how long a password-change token lives.
const passwordTokenTTL = 10 * time.Minute

// Claims are the access token's claims.
type Claims struct {
	jwt.RegisteredClaims
	Device  string `json:"dev,omitempty"`
	Role    string `json:"role"`
	Purpose string `json:"purpose,omitempty"` // "" for an access token
}

// Grant is what a token is issued for.
type Grant struct {
	User, Device, Role string
	Purpose            string    // "" or PurposePassword
	At                 time.Time // issued at; zero: now. The same grant gives the same token.
}

// Issuer signs and verifies access tokens with the server's keys.
type Issuer struct {
	keys *KeySet
	ttl  time.Duration
	now  func() time.Time
}

// NewIssuer returns an issuer of tokens valid for ttl, signed by the newest
// key of keys and verified by any of them.
func NewIssuer(keys *KeySet, ttl time.Duration) (*Issuer, error) {
	if err := keys.validate(); err != nil {
		return nil, err
	}
	return &Issuer{keys: keys, ttl: ttl, now: time.Now}, nil
}

// Issue signs an access token for a user (and device, if any); the token
// names its key in the kid header.
func (i *Issuer) Issue(user, device, role string) (token string, expires time.Time, err error) {
	return i.IssueGrant(Grant{User: user, Device: device, Role: role})
}

// IssueGrant signs a token for g. Signing is deterministic: the same grant
// at the same second with the same key gives the same token.
func (i *Issuer) IssueGrant(g Grant) (token string, expires time.Time, err error) {
	at := g.At
	if at.IsZero() {
		at = i.now()
	}
	at = at.Truncate(time.Second)
	ttl := i.ttl
	if g.Purpose != "" {
		ttl = min(ttl, passwordTokenTTL)
	}
	expires = at.Add(ttl)
	claims := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   g.User,
			IssuedAt:  jwt.NewNumericDate(at),
			ExpiresAt: jwt.NewNumericDate(expires),
			Issuer:    "dengji",
		},
		Device:  g.Device,
		Role:    g.Role,
		Purpose: g.Purpose,
	}
	k := i.keys.signing()
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	t.Header["kid"] = k.ID
	token, err = t.SignedString(k.Secret)
	return token, expires, err
}

// Verify checks an access token: its key, signature, expiry and lifetime,
// and that it is not a token for another purpose.
func (i *Issuer) Verify(token string) (*Claims, error) { return i.VerifyPurpose(token, "") }

// VerifyPurpose is Verify for a token of the given purpose.
func (i *Issuer) VerifyPurpose(token, purpose string) (*Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, i.keyOf,
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer("dengji"),
		jwt.WithTimeFunc(i.now),
		jwt.WithIssuedAt(),
		jwt.WithExpirationRequired())
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, ErrTokenExpired
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrTokenInvalid, err)
	case c.IssuedAt == nil:
		return nil, fmt.Errorf("%w: no iat", ErrTokenInvalid)
	case c.ExpiresAt.Sub(c.IssuedAt.Time) > i.ttl:
		return nil, fmt.Errorf("%w: lifetime over %v", ErrTokenInvalid, i.ttl)
	case c.Purpose != purpose:
		return nil, fmt.Errorf("%w: purpose %q", ErrTokenInvalid, c.Purpose)
	}
	return &c, nil
}

func (i *Issuer) keyOf(t *jwt.Token) (any, error) {
	id, _ := t.Header["kid"].(string)
	k, ok := i.keys.lookup(id)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNoKey, id)
	}
	return k.Secret, nil
}

// NewKey returns a fresh random signing key.
func NewKey() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

// A refresh token is "FAMILY.SECRET": the family is the session's public ID,
// so a token rotated out and presented again names the session to revoke.
// The first secret of a family is random; each next one is an HMAC of the
// previous token under the signing key, so the server can give the same
// answer again to a client that lost it, without storing any token.

// NewRefreshToken returns the first refresh token of a new family, its
// family ID and the hash to store.
func NewRefreshToken() (token, family, hash string) {
	f := make([]byte, 16)
	rand.Read(f)
	b := make([]byte, 32)
	rand.Read(b)
	family = base64.RawURLEncoding.EncodeToString(f)
	token = family + "." + base64.RawURLEncoding.EncodeToString(b)
	return token, family, HashRefreshToken(token)
}

// RefreshFamily is the family a refresh token belongs to; ok is false for a
// token of the older form, which has none.
func RefreshFamily(token string) (family string, ok bool) {
	family, _, ok = strings.Cut(token, ".")
	return family, ok && len(family) == 22
}

// NextRefreshToken is the token that replaces prev at a rotation.
func (i *Issuer) NextRefreshToken(prev string) (token, hash string) {
	return nextRefresh(i.keys.signing(), prev)
}

// ReplayRefreshToken finds again the token that replaced prev, if its hash
// is current (under any key: one may have been added since).
func (i *Issuer) ReplayRefreshToken(prev, current string) (token string, ok bool) {
	for _, k := range i.keys.keys {
		if t, h := nextRefresh(k, prev); hmac.Equal([]byte(h), []byte(current)) {
			return t, true
		}
	}
	return "", false
}

func nextRefresh(k Key, prev string) (token, hash string) {
	family, _ := RefreshFamily(prev)
	m := hmac.New(sha256.New, k.Secret)
	m.Write([]byte("dengji refresh rotation\x00"))
	m.Write([]byte(prev))
	token = family + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	return token, HashRefreshToken(token)
}

// HashRefreshToken is how a refresh token is looked up: the server never
// stores the token itself.
func HashRefreshToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// HashPassword hashes a password with bcrypt.
func HashPassword(password string) ([]byte, error) {
	return bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
}

// CheckPassword reports whether password matches hash.
func CheckPassword(hash []byte, password string) bool {
	return bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
}

// RandomPassword returns a password for a new account, to be shown once.
func RandomPassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 16)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
