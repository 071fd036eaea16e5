package api

import (
	"github.com/gin-gonic/gin"

	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/store"
)

func (s *Server) listUsers(c *gin.Context) {
	us, err := accounts.List(c, s.store)
	if err != nil {
		fail(c, err)
		return
	}
	views := make([]userView, len(us))
	for i := range us {
		views[i] = viewOf(&us[i])
	}
	respond(c, 200, gin.H{"users": views})
}

type addUserRequest struct {
	Name      string     `json:"name"`
	Role      store.Role `json:"role"`
	Districts []string   `json:"districts"`
	Password  string     `json:"password,omitempty"`
}

// addUser creates an account; a generated password is returned once.
func (s *Server) addUser(c *gin.Context) {
	var req addUserRequest
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	pw, err := accounts.Add(actor(c), s.store, accounts.NewUser{Name: req.Name, Role: req.Role,
		Districts: req.Districts, Password: req.Password})
	if err != nil {
		fail(c, err)
		return
	}
	resp := gin.H{"name": req.Name}
	if req.Password == "" {
		resp["password"] = pw
	}
	respond(c, 201, resp)
}

func (s *Server) disableUser(c *gin.Context) { s.setDisabled(c, true) }
func (s *Server) enableUser(c *gin.Context)  { s.setDisabled(c, false) }

func (s *Server) setDisabled(c *gin.Context, disabled bool) {
	if err := accounts.SetDisabled(actor(c), s.store, c.Param("name"), disabled); err != nil {
		fail(c, err)
		return
	}
	c.Status(204)
}

func (s *Server) listDevices(c *gin.Context) {
	ds, err := accounts.Devices(c, s.store)
	if err != nil {
		fail(c, err)
		return
	}
	if ds == nil {
		ds = []store.Device{}
	}
	respond(c, 200, gin.H{"devices": ds})
}

func (s *Server) revokeDevice(c *gin.Context) {
	if err := accounts.Revoke(actor(c), s.store, c.Param("id")); err != nil {
		fail(c, err)
		return
	}
	c.Status(204)
}
