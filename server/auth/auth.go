// Package auth issues and checks the server's credentials: bcrypt password
// hashes, short-lived JWT access tokens (HS256, golang-jwt/jwt/v5) and opaque
// refresh tokens stored only as hashes.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"
)

// Errors of token checks.
var (
	// ErrTokenExpired means the access token is past its expiry: refresh it.
	ErrTokenExpired = errors.New("auth: token expired")
	// ErrTokenInvalid means the token is malformed or not signed by this server.
	ErrTokenInvalid = errors.New("auth: token invalid")
)

// Claims are the access token's claims.
type Claims struct {
	jwt.RegisteredClaims
	Device string `json:"dev,omitempty"`
	Role   string `json:"role"`
}

// Issuer signs and verifies access tokens with one server-held key.
type Issuer struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// NewIssuer returns an issuer of tokens valid for ttl.
func NewIssuer(key []byte, ttl time.Duration) *Issuer {
	return &Issuer{key: key, ttl: ttl, now: time.Now}
}

// Issue signs an access token for a user (and device, if any).
func (i *Issuer) Issue(user, device, role string) (token string, expires time.Time, err error) {
	now := i.now()
	expires = now.Add(i.ttl)
	claims := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   user,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(expires),
			Issuer:    "dengji",
		},
		Device: device,
		Role:   role,
	}
	token, err = jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(i.key)
	return token, expires, err
}

// Verify checks a token's signature and expiry and returns its claims.
func (i *Issuer) Verify(token string) (*Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return i.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer("dengji"),
		jwt.WithTimeFunc(i.now),
		jwt.WithExpirationRequired())
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, ErrTokenExpired
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrTokenInvalid, err)
	}
	return &c, nil
}

// NewKey returns a fresh random signing key.
func NewKey() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

// NewRefreshToken returns a random refresh token and the hash to store.
func NewRefreshToken() (token, hash string) {
	b := make([]byte, 32)
	rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
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
