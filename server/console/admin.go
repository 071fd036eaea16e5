package console

import (
	"net/http"
	"strings"

	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/store"
)

type usersPage struct {
	Users []store.User
	// Shown once: the one-time password of an account just created or reset.
	NewPassword, For string
}

func (c *Console) users(q *request) {
	us, err := accounts.List(c.actor(q), c.cfg.Store)
	if err != nil {
		c.failWith(q, err)
		return
	}
	c.render(q, 200, "users", "users", "用户 / Users", usersPage{Users: us})
}

// scopeField reads a comma- or space-separated list of scope entries.
func scopeField(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '，' || r == ' ' || r == '\n' || r == '\r' })
}

// addUser creates an account with a one-time password, shown once.
func (c *Console) addUser(q *request) {
	name := q.r.PostFormValue("name")
	pw, err := accounts.Add(c.actor(q), c.cfg.Store, accounts.NewUser{Name: name,
		Role: store.Role(q.r.PostFormValue("role")), Districts: scopeField(q.r.PostFormValue("districts"))})
	if err == nil && q.r.PostFormValue("full_name") != "" {
		full := q.r.PostFormValue("full_name")
		_, err = accounts.EditUser(c.actor(q), c.cfg.Store, name, accounts.Edit{FullName: &full})
	}
	if err != nil {
		c.failWith(q, err)
		return
	}
	c.showPassword(q, name, pw)
}

func (c *Console) showPassword(q *request, name, pw string) {
	if wantsJSON(q.r) {
		sendJSON(q, 200, map[string]string{"name": name, "password": pw})
		return
	}
	us, err := accounts.List(c.actor(q), c.cfg.Store)
	if err != nil {
		c.failWith(q, err)
		return
	}
	c.render(q, 200, "users", "users", "用户 / Users", usersPage{Users: us, NewPassword: pw, For: name})
}

// editUser changes a user's role, scope and display name (accounts.EditUser,
// each change audited).
func (c *Console) editUser(q *request) {
	role := store.Role(q.r.PostFormValue("role"))
	ds := scopeField(q.r.PostFormValue("districts"))
	full := q.r.PostFormValue("full_name")
	_, err := accounts.EditUser(c.actor(q), c.cfg.Store, q.r.PathValue("name"),
		accounts.Edit{Role: &role, Districts: &ds, FullName: &full})
	if err != nil {
		c.failWith(q, err)
		return
	}
	c.done(q, "/console/admin/users", map[string]string{"name": q.r.PathValue("name")})
}

// userAction resets a password, disables, enables or unlocks an account.
func (c *Console) userAction(q *request) {
	name := q.r.PathValue("name")
	var err error
	switch q.r.PathValue("action") {
	case "password":
		var pw string
		if pw, err = accounts.ResetPassword(c.actor(q), c.cfg.Store, name); err == nil {
			c.showPassword(q, name, pw)
			return
		}
	case "disable":
		err = accounts.SetDisabled(c.actor(q), c.cfg.Store, name, true)
	case "enable":
		err = accounts.SetDisabled(c.actor(q), c.cfg.Store, name, false)
	case "unlock":
		err = c.cfg.Accounts.Unlock(c.actor(q), name)
	default:
		c.refuse(q, http.StatusNotFound, "not_found", "找不到该页面", "no such page")
		return
	}
	if err != nil {
		c.failWith(q, err)
		return
	}
	c.done(q, "/console/admin/users", map[string]string{"name": name})
}

func (c *Console) devices(q *request) {
	ds, err := accounts.Devices(c.actor(q), c.cfg.Store)
	if err != nil {
		c.failWith(q, err)
		return
	}
	c.render(q, 200, "devices", "devices", "设备 / Devices", ds)
}

// revoke withdraws a lost phone's tokens (accounts.Revoke).
func (c *Console) revoke(q *request) {
	if err := accounts.Revoke(c.actor(q), c.cfg.Store, q.r.PathValue("id")); err != nil {
		c.failWith(q, err)
		return
	}
	c.done(q, "/console/admin/devices", map[string]string{"device": q.r.PathValue("id"), "status": "revoked"})
}

func (c *Console) dedupPage(q *request) {
	st, err := c.cfg.Dedup.Status(q.r.Context())
	if err != nil {
		c.failWith(q, err)
		return
	}
	c.render(q, 200, "dedup", "dedup", "查重 / Duplicate check", st)
}

// startDedup starts the duplicate check in the background (one at a time,
// whoever starts it: the API's job).
func (c *Console) startDedup(q *request) {
	if err := c.cfg.StartDedup(q.r.PostFormValue("incremental") == "1"); err != nil {
		c.failWith(q, err)
		return
	}
	c.done(q, "/console/admin/dedup", map[string]string{"status": "started"})
}

func (c *Console) dedupStatus(q *request) {
	st, err := c.cfg.Dedup.Status(q.r.Context())
	if err != nil {
		c.failWith(q, err)
		return
	}
	sendJSON(q, 200, st)
}
