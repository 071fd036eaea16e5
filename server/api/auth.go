package api

import (
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/store"
)

// The sign-in, refresh and logout handlers only decode and answer: the
// rules are in server/accounts, its errors mapped in errors.go.

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
	Name               string     `json:"name"`
	Role               store.Role `json:"role"`
	Districts          []string   `json:"districts,omitempty"`
	Disabled           bool       `json:"disabled,omitempty"`
	MustChangePassword bool       `json:"must_change_password,omitempty"`
	Created            time.Time  `json:"created"`
}

func viewOf(u *store.User) userView {
	return userView{Name: u.Name, Role: u.Role, Districts: u.Districts, Disabled: u.Disabled,
		MustChangePassword: u.MustChangePassword, Created: u.Created}
}

// login checks a password and, when a device ID is given, enrols the device
// to the user (first sign-in) or checks it belongs to them.
func (s *Server) login(c *gin.Context) {
	var req loginRequest
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	if len(req.DeviceName) > 128 {
		fail(c, ErrBadRequest)
		return
	}
	tk, err := s.accounts.SignIn(c, accounts.SignIn{Username: req.Username, Password: req.Password,
		DeviceID: req.DeviceID, DeviceName: req.DeviceName, Source: c.ClientIP()})
	if err != nil {
		fail(c, err)
		return
	}
	respondTokens(c, tk)
}

func respondTokens(c *gin.Context, tk *accounts.Tokens) {
	respond(c, 200, tokenResponse{AccessToken: tk.Access, RefreshToken: tk.Refresh,
		ExpiresIn: max(int(time.Until(tk.AccessExpires).Seconds()), 0), ExpiresAt: tk.AccessExpires.UTC(),
		User: viewOf(tk.User)})
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// refresh trades a refresh token for a new pair (see accounts.Service.Refresh).
func (s *Server) refresh(c *gin.Context) {
	var req refreshRequest
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	tk, err := s.accounts.Refresh(c, req.RefreshToken)
	if err != nil {
		fail(c, err)
		return
	}
	respondTokens(c, tk)
}

// logout ends the session of a refresh token.
func (s *Server) logout(c *gin.Context) {
	var req refreshRequest
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	if err := s.accounts.Logout(c, req.RefreshToken); err != nil {
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
