package console

import (
	"errors"
	"net"
	"net/http"
	"net/url"

	"github.com/dengji/dengji/server/accounts"
)

type signInForm struct {
	Next, Username, Message string
}

func (c *Console) loginPage(q *request) {
	c.render(q, 200, "login", "", "登录 / Sign in", signInForm{Next: safeNext(q.r.URL.Query().Get("next"))})
}

// login checks the password through accounts (throttled and audited as
// the API's sign-in) and starts a cookie session; a one-time password
// sends the person to choose a new one first.
func (c *Console) login(q *request) {
	name, next := q.r.PostFormValue("username"), safeNext(q.r.PostFormValue("next"))
	t, err := c.cfg.Accounts.SignIn(q.r.Context(), accounts.SignIn{Username: name,
		Password: q.r.PostFormValue("password"), Source: source(q.r)})
	if errors.Is(err, accounts.ErrPasswordChangeRequired) {
		http.Redirect(q.w, q.r, "/console/password?first=1&user="+url.QueryEscape(name), http.StatusSeeOther)
		return
	}
	if err != nil {
		c.signInRefused(q, "login", signInForm{Next: next, Username: name}, err)
		return
	}
	c.begin(q, t)
	http.Redirect(q.w, q.r, next, http.StatusSeeOther)
}

// signInRefused shows the form again with the reason (as the API says it).
func (c *Console) signInRefused(q *request, page string, form signInForm, err error) {
	status, _, msg := apiDescribe(err)
	if status >= 500 {
		c.failWith(q, err)
		return
	}
	form.Message = msg
	c.render(q, status, page, "", "登录 / Sign in", form)
}

type passwordForm struct {
	signInForm
	First bool // after a sign-in with a one-time password
}

func (c *Console) passwordPage(q *request) {
	f := passwordForm{signInForm: signInForm{Username: q.r.URL.Query().Get("user")}, First: q.r.URL.Query().Get("first") == "1"}
	c.render(q, 200, "password", "", "修改密码 / Change password", f)
}

// changePassword changes a person's own password (the old one checked,
// throttled like a sign-in); every other session of theirs ends, and a new
// console session begins.
func (c *Console) changePassword(q *request) {
	f := q.r.PostForm
	name := q.r.PostFormValue("username")
	form := passwordForm{signInForm: signInForm{Username: name}, First: f.Get("first") == "1"}
	if f.Get("new") != f.Get("confirm") {
		form.Message = "两次输入的新密码不一致 / the new passwords do not match"
		c.render(q, 400, "password", "", "修改密码 / Change password", form)
		return
	}
	t, err := c.cfg.Accounts.ChangePassword(q.r.Context(), accounts.PasswordChange{User: name, Old: f.Get("old"),
		New: f.Get("new"), Source: source(q.r)})
	if err != nil {
		status, _, msg := apiDescribe(err)
		if status >= 500 {
			c.failWith(q, err)
			return
		}
		form.Message = msg
		c.render(q, status, "password", "", "修改密码 / Change password", form)
		return
	}
	c.begin(q, t)
	http.Redirect(q.w, q.r, "/console/", http.StatusSeeOther)
}

func (c *Console) logout(q *request) {
	if sc, err := q.r.Cookie(cookieSession); err == nil {
		c.cfg.Accounts.Logout(q.r.Context(), sc.Value)
	}
	c.mu.Lock()
	delete(c.seen, q.family)
	c.mu.Unlock()
	setCookie(q.w, q.r, cookieSession, "", -1)
	http.Redirect(q.w, q.r, "/console/login", http.StatusSeeOther)
}

// setLang switches the console's language (a display preference, nothing
// else changes) and goes back to where the person was.
func (c *Console) setLang(q *request) {
	v := "zh"
	if q.r.PathValue("lang") == "en" {
		v = "en"
	}
	http.SetCookie(q.w, &http.Cookie{Name: cookieLang, Value: v, Path: "/", MaxAge: 365 * 24 * 3600,
		Secure: q.r.TLS != nil, SameSite: http.SameSiteLaxMode, HttpOnly: true})
	http.Redirect(q.w, q.r, safeNext(q.r.URL.Query().Get("back")), http.StatusSeeOther)
}

// source is the connection's address, which sign-ins are throttled by (the
// API trusts no forwarding header by default either).
func source(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
