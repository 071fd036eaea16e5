package api

import (
	"errors"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/auth"
)

type passwordRequest struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// changePassword changes the caller's own password: with an access token,
// or with the token a sign-in with a one-time password answered (which
// does nothing else). The answer is a new token pair for the caller's
// device; every other session of the user ends.
func (s *Server) changePassword(c *gin.Context) {
	claims, err := s.passwordClaims(c)
	if err != nil {
		fail(c, err)
		return
	}
	var req passwordRequest
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	tk, err := s.accounts.ChangePassword(c, accounts.PasswordChange{User: claims.Subject, Old: req.Old, New: req.New,
		Device: claims.Device, Source: c.ClientIP()})
	if err != nil {
		fail(c, err)
		return
	}
	respondTokens(c, tk)
}

// passwordClaims accepts an access token or a password-change token, and
// checks the user and device as they are now.
func (s *Server) passwordClaims(c *gin.Context) (*auth.Claims, error) {
	token, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if !ok {
		return nil, ErrUnauthorized
	}
	claims, err := s.issuer.Verify(token)
	enrolling := false // a password-change token's device is enrolled by the change
	if errors.Is(err, auth.ErrTokenInvalid) {
		claims, err = s.issuer.VerifyPurpose(token, auth.PurposePassword)
		enrolling = true
	}
	switch {
	case errors.Is(err, auth.ErrTokenExpired):
		return nil, ErrTokenExpired
	case err != nil:
		return nil, ErrUnauthorized
	}
	u, _, err := s.principalOf(c, claims.Subject, claims.Device, enrolling)
	if err != nil {
		return nil, err
	}
	c.Set(ctxUserName, u.Name)
	return claims, nil
}

// resetPassword gives a user a one-time password, returned once, which must
// be changed at the next sign-in; every session of the user ends.
func (s *Server) resetPassword(c *gin.Context) {
	pw, err := accounts.ResetPassword(actor(c), s.store, c.Param("name"))
	if err != nil {
		fail(c, err)
		return
	}
	if err := s.accounts.Unlock(actor(c), c.Param("name")); err != nil {
		fail(c, err)
		return
	}
	respond(c, 200, gin.H{"name": c.Param("name"), "password": pw})
}

// unlockUser forgets an account's failed sign-ins, from every address.
func (s *Server) unlockUser(c *gin.Context) {
	if err := s.accounts.Unlock(actor(c), c.Param("name")); err != nil {
		fail(c, err)
		return
	}
	c.Status(204)
}

// Accounts is the server's account service: sign-in, sessions, passwords.
func (s *Server) Accounts() *accounts.Service { return s.accounts }
