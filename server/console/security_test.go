package console_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/console"
	"github.com/dengji/dengji/server/store"
)

// A form posted without its CSRF token, or with another session's, is
// refused and changes nothing; with its own it goes through.
func TestConsole_CSRF(t *testing.T) {
	e := startEnv(t)
	d := e.device(t, "li") // enrols a device to revoke
	alice, mallory := e.client(t), e.client(t)
	alice.signIn(t, "admin", adminPassword)
	mallory.signIn(t, "admin", adminPassword)
	_, _, malloryToken := mallory.get(t, "/console/admin/devices")
	_, page, token := alice.get(t, "/console/admin/devices")
	if token == "" || !contains(page, d.ID()) {
		t.Fatalf("the devices page must list the device with forms carrying a CSRF token")
	}
	path := "/console/admin/devices/" + d.ID() + "/revoke"
	for name, form := range map[string]url.Values{"none": {}, "another session's": {"csrf": {malloryToken}},
		"forged": {"csrf": {token[:len(token)-2] + "xx"}}} {
		if resp := alice.post(t, path, form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("token %s: %d, want 403", name, resp.StatusCode)
		}
	}
	if revoked(t, e, d.ID()) {
		t.Fatal("a refused form must change nothing")
	}
	// The sign-in form too: no token, no sign-in (login CSRF).
	anon := e.client(t)
	resp := anon.post(t, "/console/login", url.Values{"username": {"admin"}, "password": {adminPassword}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in without its token: %d, want 403", resp.StatusCode)
	}
	// A cross-site Origin is refused even with the token.
	req, _ := http.NewRequest("POST", e.url+path, strings.NewReader(url.Values{"csrf": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if resp, err := alice.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin post: %v %v, want 403", resp.StatusCode, err)
	}
	if resp := alice.post(t, path, url.Values{"csrf": {token}}); resp.StatusCode != http.StatusSeeOther || !revoked(t, e, d.ID()) {
		t.Fatalf("with its token the form must revoke the device: %d", resp.StatusCode)
	}
}

func revoked(t *testing.T, e *env, id string) bool {
	var dev *store.Device
	e.st.View(ctx, func(tx store.Tx) error {
		var err error
		dev, err = tx.Device(id)
		return err
	})
	return dev != nil && dev.IsRevoked()
}

// The session cookie is HttpOnly and SameSite=Strict, and Secure when the
// console is served over TLS.
func TestConsole_CookieFlags(t *testing.T) {
	e := startEnv(t)
	check := func(t *testing.T, resp *http.Response, secure bool) {
		t.Helper()
		var found bool
		for _, ck := range resp.Cookies() {
			if ck.Name != "dengji_session" {
				continue
			}
			found = true
			if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure != secure || ck.Path != "/" {
				t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, Secure=%v", ck, secure)
			}
		}
		if !found {
			t.Fatal("no session cookie set at sign-in")
		}
	}
	plain := e.client(t)
	_, _, token := plain.get(t, "/console/login")
	check(t, plain.post(t, "/console/login", url.Values{"csrf": {token}, "username": {"wu"}, "password": {"wu-password-1"}}), false)

	// The same handler over TLS, on a real TLS listener.
	ts := httptest.NewUnstartedServer(e.srv.Handler())
	ts.StartTLS()
	defer ts.Close()
	tls := &client{ts.Client(), ts.URL}
	tls.Jar = plain.Jar
	tls.CheckRedirect = plain.CheckRedirect
	_, _, token = tls.get(t, "/console/login")
	check(t, tls.post(t, "/console/login", url.Values{"csrf": {token}, "username": {"wu"}, "password": {"wu-password-1"}}), true)
}

// Every route answers with the Content-Security-Policy (no inline script),
// signed in or not, a page, a redirect, a refusal or a static file.
func TestConsole_CSPOnEveryRoute(t *testing.T) {
	e := startEnv(t)
	admin := e.client(t)
	admin.signIn(t, "admin", adminPassword)
	paths := append(routePaths("GET"), "/console/static/console.js", "/console/static/console.css", "/nowhere")
	for _, c := range []*client{e.client(t), admin} {
		for _, p := range paths {
			resp, _, _ := c.get(t, p)
			csp := resp.Header.Get("Content-Security-Policy")
			if csp != console.CSP || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("GET %s: CSP %q", p, csp)
			}
		}
		for _, p := range routePaths("POST") {
			if resp := c.post(t, p, nil); resp.Header.Get("Content-Security-Policy") != console.CSP {
				t.Errorf("POST %s: no CSP", p)
			}
		}
	}
}

// routePaths are the console's routes of a method, path parameters filled.
func routePaths(method string) []string {
	var out []string
	for _, r := range console.Routes() {
		if m, p := fill(r.Pattern); m == method {
			out = append(out, p)
		}
	}
	return out
}

// fill is a route pattern's method and a path it matches.
func fill(pattern string) (method, path string) {
	m, p, _ := strings.Cut(pattern, " ")
	return m, strings.NewReplacer("{$}", "", "{id}", "x1", "{name}", "wu", "{action}", "unlock", "{lang}", "en").Replace(p)
}

// Every route refuses who may not open it: nobody signed in is sent to sign
// in (a page) or refused (a post), a registrar may open nothing, a
// coordinator no admin page.
func TestConsole_Routes(t *testing.T) {
	e := startEnv(t)
	clients := map[string]*client{"anonymous": e.client(t)}
	for _, u := range [][2]string{{"li", "li-password-1"}, {"wu", "wu-password-1"}} {
		c := e.client(t)
		_, _, token := c.get(t, "/console/login")
		c.post(t, "/console/login", url.Values{"csrf": {token}, "username": {u[0]}, "password": {u[1]}})
		clients[u[0]] = c
	}
	for _, r := range console.Routes() {
		if r.Access == "public" {
			continue
		}
		m, p := fill(r.Pattern)
		for who, c := range clients {
			var status int
			var loc string
			if m == "GET" {
				resp, _, _ := c.get(t, p)
				status, loc = resp.StatusCode, resp.Header.Get("Location")
			} else {
				_, _, token := c.get(t, "/console/login")
				status = c.post(t, p, url.Values{"csrf": {token}}).StatusCode
			}
			switch {
			case who == "anonymous" && m == "GET":
				if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/login") {
					t.Errorf("%s %s as %s: %d %s, want a redirect to sign in", m, p, who, status, loc)
				}
			case who == "anonymous":
				if status != http.StatusUnauthorized && status != http.StatusForbidden {
					t.Errorf("%s %s as %s: %d", m, p, who, status)
				}
			case who == "li", who == "wu" && r.Access == "admin":
				if status != http.StatusForbidden {
					t.Errorf("%s %s as %s: %d, want 403", m, p, who, status)
				}
			}
		}
	}
}

// A session unused for longer than the idle timeout ends.
func TestConsole_IdleTimeout(t *testing.T) {
	e := startEnv(t)
	c, err := console.New(console.Config{Store: e.st, Accounts: e.srv.Accounts(), Dedup: e.srv.Dedup(),
		StartDedup: e.srv.StartDedup, IdleTimeout: 300_000_000}) // 0.3 s
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(c)
	defer ts.Close()
	cl := e.client(t)
	cl.base = ts.URL
	cl.signIn(t, "wu", "wu-password-1")
	if resp, _, _ := cl.get(t, "/console/"); resp.StatusCode != 200 {
		t.Fatalf("signed in: %d", resp.StatusCode)
	}
	u, _ := url.Parse(ts.URL)
	var token string
	for _, ck := range cl.Jar.Cookies(u) {
		if ck.Name == "dengji_session" {
			token = ck.Value
		}
	}
	time.Sleep(400 * time.Millisecond)
	if resp, _, _ := cl.get(t, "/console/"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the idle timeout: %d, want a redirect to sign in", resp.StatusCode)
	}
	// The session is over in the store too: its refresh token is dead.
	if _, _, err := e.srv.Accounts().Session(ctx, token); !errors.Is(err, accounts.ErrBadRefresh) {
		t.Fatalf("the idle session's refresh token: %v, want it ended", err)
	}
}

// While the first count runs (a large roll, just after a start) the
// overview answers at once, with the queues' counts and a notice. The
// count is held up by a store wrapper whose record scan waits: a fake, for
// a slowness a test's small store cannot have.
func TestConsole_OverviewWhileCounting(t *testing.T) {
	e := startEnv(t)
	release := make(chan struct{})
	defer close(release)
	c, err := console.New(console.Config{Store: slowScan{e.st, release}, Accounts: e.srv.Accounts(), Dedup: e.srv.Dedup(),
		StartDedup: e.srv.StartDedup})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(c)
	defer ts.Close()
	cl := e.client(t)
	cl.base = ts.URL
	cl.signIn(t, "wu", "wu-password-1")
	resp, page, _ := cl.get(t, "/console/")
	if resp.StatusCode != 200 || !strings.Contains(page, `id="counting"`) || !strings.Contains(page, `id="open-conflicts"`) {
		t.Fatalf("overview while counting: %d %.500s", resp.StatusCode, page)
	}
}

// slowScan is a store whose full record scan waits for release.
type slowScan struct {
	store.Store
	release chan struct{}
}

func (s slowScan) View(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.View(ctx, func(tx store.Tx) error { return fn(slowTx{tx, s.release}) })
}

type slowTx struct {
	store.Tx
	release chan struct{}
}

func (t slowTx) ScanRecords(typ string, fn func(id, data []byte) error) error {
	<-t.release
	return t.Tx.ScanRecords(typ, fn)
}
