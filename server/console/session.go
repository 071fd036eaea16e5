package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/auth"
	"github.com/dengji/dengji/server/store"
)

// Cookies.
const (
	cookieSession = "dengji_session" // the session's refresh token (HttpOnly)
	cookiePre     = "dengji_pre"     // a random value the sign-in form's CSRF token is bound to
	cookieLang    = "dengji_lang"    // "en" for English; Chinese otherwise
	csrfField     = "csrf"           // the form field
	csrfHeader    = "X-CSRF-Token"   // the header of the console's fetches
)

// access is who may open a route.
type access int

const (
	public   access = iota + 1 // the sign-in pages, static files
	reviewer                   // a coordinator or an admin, signed in
	admin                      // an admin, signed in
)

// request is one console request and who makes it.
type request struct {
	w      http.ResponseWriter
	r      *http.Request
	user   *store.User // nil on public routes
	family string      // the session's ID
	csrf   string      // the token this page's forms carry
	en     bool        // English asked for
}

// setCookie sets a cookie of the console: HttpOnly, SameSite=Strict, Secure
// when the request came over TLS.
func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// mac is the console's HMAC of s, base64url.
func (c *Console) mac(s string) string {
	m := hmac.New(sha256.New, c.csrfKey)
	m.Write([]byte(s))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// wrap makes a handler of a route: the session checked (and idled out)
// for a, the CSRF token checked on every request that may change state,
// then h.
func (c *Console) wrap(a access, h func(*Console, *request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := &request{w: w, r: r}
		if lc, err := r.Cookie(cookieLang); err == nil && lc.Value == "en" {
			q.en = true
		}
		if a == public {
			q.csrf = c.preToken(w, r)
		} else if !c.signedIn(q, a) {
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !c.csrfOK(q) {
			c.refuse(q, http.StatusForbidden, "csrf", "表单已失效，请刷新页面后重试", "the form has expired (CSRF token missing or wrong): reload the page and try again")
			return
		}
		h(c, q)
	}
}

// preToken is the CSRF token of a page shown before sign-in, bound to a
// random cookie set here if the browser has none.
func (c *Console) preToken(w http.ResponseWriter, r *http.Request) string {
	pc, err := r.Cookie(cookiePre)
	if err != nil || len(pc.Value) < 16 {
		b := make([]byte, 18)
		rand.Read(b)
		pc = &http.Cookie{Value: base64.RawURLEncoding.EncodeToString(b)}
		setCookie(w, r, cookiePre, pc.Value, 0)
	}
	return c.mac("pre:" + pc.Value)
}

// csrfOK checks the token of the form or the fetch header against the
// session's (or the sign-in form's), and the Origin header when the
// browser sends one.
func (c *Console) csrfOK(q *request) bool {
	if o := q.r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != q.r.Host {
			return false
		}
	}
	got := q.r.Header.Get(csrfHeader)
	if got == "" {
		got = q.r.PostFormValue(csrfField)
	}
	return got != "" && hmac.Equal([]byte(got), []byte(q.csrf))
}

// signedIn finds the session of the request's cookie, checks it as a
// refresh would and against the idle timeout, and the user's role against
// a. Otherwise it answers (a redirect to sign in, or 403) and returns false.
func (c *Console) signedIn(q *request, a access) bool {
	sc, err := q.r.Cookie(cookieSession)
	if err != nil {
		c.toSignIn(q)
		return false
	}
	u, family, err := c.cfg.Accounts.Session(q.r.Context(), sc.Value)
	if err == nil && !c.touch(family) {
		c.cfg.Accounts.Logout(q.r.Context(), sc.Value)
		err = accounts.ErrBadRefresh
	}
	if err != nil {
		setCookie(q.w, q.r, cookieSession, "", -1)
		c.toSignIn(q)
		return false
	}
	if err := c.cfg.Store.View(q.r.Context(), func(tx store.Tx) error { return store.ResolveScope(tx, u) }); err != nil {
		c.internal(q, err)
		return false
	}
	q.user, q.family, q.csrf = u, family, c.mac("session:"+family)
	if u.Role != store.RoleAdmin && (a == admin || u.Role != store.RoleCoordinator) {
		c.refuse(q, http.StatusForbidden, "forbidden", "无权访问此页面", "you may not open this page")
		return false
	}
	return true
}

// touch records a request of the session, or reports that it idled out (or
// that the server restarted since it began: its last request is unknown).
func (c *Console) touch(family string) bool {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	last, ok := c.seen[family]
	if !ok || now.Sub(last) > c.cfg.IdleTimeout {
		delete(c.seen, family)
		return false
	}
	c.seen[family] = now
	return true
}

// begin starts a console session for the tokens of a sign-in.
func (c *Console) begin(q *request, t *accounts.Tokens) {
	family, _ := auth.RefreshFamily(t.Refresh)
	c.mu.Lock()
	c.seen[family] = time.Now()
	for f, last := range c.seen { // forget sessions long idle
		if time.Now().Sub(last) > c.cfg.IdleTimeout {
			delete(c.seen, f)
		}
	}
	c.mu.Unlock()
	setCookie(q.w, q.r, cookieSession, t.Refresh, 0)
}

// toSignIn sends a page request to the sign-in form (coming back after),
// and answers a fetch 401.
func (c *Console) toSignIn(q *request) {
	if q.r.Method != http.MethodGet || strings.Contains(q.r.Header.Get("Accept"), "application/json") {
		c.refuse(q, http.StatusUnauthorized, "unauthorized", "请先登录", "please sign in")
		return
	}
	http.Redirect(q.w, q.r, "/console/login?next="+url.QueryEscape(q.r.URL.RequestURI()), http.StatusSeeOther)
}

// safeNext is where to go after signing in: a console path only.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/console/") && !strings.HasPrefix(next, "/console/login") &&
		!strings.ContainsAny(next, "\\\r\n") && !strings.HasPrefix(next, "//") {
		return next
	}
	return "/console/"
}
