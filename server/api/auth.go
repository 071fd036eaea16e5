package api

import (
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dengji/dengji/server/auth"
	"github.com/dengji/dengji/server/store"
)

type loginRequest struct {
	Username   string `json:"username"`
	Password   string `json:"password"`
	DeviceID   string `json:"device_id,omitempty"`
	DeviceName string `json:"device_name,omitempty"`
}

type tokenResponse struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	ExpiresIn    int       `json:"expires_in"` // seconds
	ExpiresAt    time.Time `json:"expires_at"`
	User         userView  `json:"user"`
}

type userView struct {
	Name      string     `json:"name"`
	Role      store.Role `json:"role"`
	Districts []string   `json:"districts,omitempty"`
	Disabled  bool       `json:"disabled,omitempty"`
	Created   time.Time  `json:"created"`
}

func viewOf(u *store.User) userView {
	return userView{Name: u.Name, Role: u.Role, Districts: u.Districts, Disabled: u.Disabled, Created: u.Created}
}

// login checks a password and, when a device ID is given, enrolls the device
// to the user (first login) or checks it belongs to them.
func (s *Server) login(c *gin.Context) {
	var req loginRequest
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	if len(req.DeviceID) > 64 || len(req.DeviceName) > 128 {
		fail(c, ErrBadRequest)
		return
	}
	if wait := s.logins.retryAfter(req.Username); wait > 0 {
		c.Header("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		fail(c, ErrTooManyAttempts)
		return
	}
	u, err := s.checkPassword(c, req.Username, req.Password)
	if errors.Is(err, ErrBadCredentials) {
		s.logins.failed(req.Username)
	}
	if err != nil {
		fail(c, err)
		return
	}
	s.logins.succeeded(req.Username)
	err = s.store.Update(c, func(tx store.Tx) error {
		return enroll(tx, u, req.DeviceID, req.DeviceName)
	})
	if err != nil {
		fail(c, err)
		return
	}
	s.issueTokens(c, u, req.DeviceID)
}

// checkPassword reads the user and checks the password outside any write
// transaction: bcrypt takes tens of milliseconds, and pushes must not wait
// for it.
func (s *Server) checkPassword(c *gin.Context, name, password string) (*store.User, error) {
	var u *store.User
	err := s.store.View(c, func(tx store.Tx) error {
		var err error
		u, err = tx.User(name)
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		auth.CheckPassword(dummyHash(), password) // the same time as a real check: no user enumeration by timing
		return nil, ErrBadCredentials
	case err != nil:
		return nil, err
	case !auth.CheckPassword(u.PasswordHash, password):
		return nil, ErrBadCredentials
	case u.Disabled:
		return nil, ErrUserDisabled
	}
	return u, nil
}

// dummyHash is checked against when the user does not exist.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := auth.HashPassword("dengji: no such user")
	return h
})

func enroll(tx store.Tx, u *store.User, id, name string) error {
	if id == "" {
		return nil
	}
	d, err := tx.Device(id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		now := time.Now().UTC()
		return tx.PutDevice(&store.Device{ID: id, User: u.Name, Name: name, Enrolled: now, LastSeen: now})
	case err != nil:
		return err
	case d.IsRevoked():
		return ErrDeviceRevoked
	case d.User != u.Name:
		return ErrDeviceTaken
	}
	d.LastSeen = time.Now().UTC()
	return tx.PutDevice(d)
}

func (s *Server) issueTokens(c *gin.Context, u *store.User, device string) {
	access, exp, err := s.issuer.Issue(u.Name, device, string(u.Role))
	if err != nil {
		fail(c, err)
		return
	}
	refresh, hash := auth.NewRefreshToken()
	rt := &store.RefreshToken{Hash: hash, User: u.Name, Device: device, Expires: time.Now().Add(s.cfg.RefreshTTL).UTC()}
	if err := s.store.Update(c, func(tx store.Tx) error { return tx.PutRefreshToken(rt) }); err != nil {
		fail(c, err)
		return
	}
	respond(c, 200, tokenResponse{AccessToken: access, RefreshToken: refresh,
		ExpiresIn: int(time.Until(exp).Seconds()), ExpiresAt: exp.UTC(), User: viewOf(u)})
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// refresh trades a refresh token for a new pair; the old one is used up
// (rotation), so a stolen token works at most once.
func (s *Server) refresh(c *gin.Context) {
	var req refreshRequest
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	var u *store.User
	var rt *store.RefreshToken
	err := s.store.Update(c, func(tx store.Tx) error {
		var err error
		rt, err = tx.RefreshToken(auth.HashRefreshToken(req.RefreshToken))
		if errors.Is(err, store.ErrNotFound) {
			return ErrUnauthorized
		}
		if err != nil {
			return err
		}
		if err := tx.DeleteRefreshToken(rt.Hash); err != nil {
			return err
		}
		if time.Now().After(rt.Expires) {
			return ErrUnauthorized
		}
		return s.checkRefresh(tx, rt, &u)
	})
	if err != nil {
		fail(c, err)
		return
	}
	s.issueTokens(c, u, rt.Device)
}

func (s *Server) checkRefresh(tx store.Tx, rt *store.RefreshToken, u **store.User) error {
	var err error
	if *u, err = tx.User(rt.User); err != nil {
		return err
	}
	if (*u).Disabled {
		return ErrUserDisabled
	}
	if rt.Device == "" {
		return nil
	}
	d, err := tx.Device(rt.Device)
	if err != nil || d.IsRevoked() {
		return ErrDeviceRevoked
	}
	d.LastSeen = time.Now().UTC()
	return tx.PutDevice(d)
}

func (s *Server) logout(c *gin.Context) {
	var req refreshRequest
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	err := s.store.Update(c, func(tx store.Tx) error {
		return tx.DeleteRefreshToken(auth.HashRefreshToken(req.RefreshToken))
	})
	if err != nil {
		fail(c, err)
		return
	}
	c.Status(204)
}

type meResponse struct {
	User   userView      `json:"user"`
	Device *store.Device `json:"device,omitempty"`
}

func (s *Server) me(c *gin.Context) {
	respond(c, 200, meResponse{User: viewOf(user(c)), Device: device(c)})
}
