package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	sdk "github.com/dengji/dengji/client-sdk"
	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/api"
	"github.com/dengji/dengji/server/bench"
	"github.com/dengji/dengji/server/console"
	"github.com/dengji/dengji/server/dedupjob"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore"
	dsync "github.com/dengji/dengji/sync"
)

var ctx = context.Background()

var electionDay = time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC)

// Districts of two counties: 430102 (芙蓉区) and 430103 (天心区).
const (
	distA1 = "430102001001"
	distA2 = "430102002001"
	distB1 = "430103001001"
)

// env is a real server (API and console) on a real listener over a bbolt
// file, with an admin, a coordinator of each county and a registrar.
type env struct {
	st  store.Store
	srv *api.Server
	url string
	dir string
}

const adminPassword = "admin-password-1"

func startEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := boltstore.Open(filepath.Join(dir, "server"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := api.DefaultConfig()
	cfg.Validator = store.ModelValidator(model.Rules{ElectionDay: electionDay})
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := api.New(ctx, st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := console.New(console.Config{Store: st, Accounts: srv.Accounts(), Dedup: srv.Dedup(),
		StartDedup: srv.StartDedup, Validator: cfg.Validator, Logger: cfg.Logger})
	if err != nil {
		t.Fatal(err)
	}
	srv.Mount(c)
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { srv.Close(); st.Close() })
	e := &env{st: st, srv: srv, url: srv.URL(), dir: dir}
	e.addUser(t, "admin", store.RoleAdmin, adminPassword)
	e.addUser(t, "wu", store.RoleCoordinator, "wu-password-1", "430102")
	e.addUser(t, "zhou", store.RoleCoordinator, "zhou-password-1", "430103")
	e.addUser(t, "li", store.RoleRegistrar, "li-password-1", distA1, distA2)
	e.addUser(t, "wang", store.RoleRegistrar, "wang-password-1", distA1)
	e.addUser(t, "chen", store.RoleRegistrar, "chen-password-1", distB1)
	err = st.Update(ctx, func(tx store.Tx) error {
		for _, d := range []model.District{{Code: distA1, Name: "东屯渡村", Kind: "village", Town: "430102001", County: "430102"},
			{Code: distA2, Name: "荷花池社区", Kind: "community", Town: "430102002", County: "430102"},
			{Code: distB1, Name: "坡子街社区", Kind: "community", Town: "430103001", County: "430103"}} {
			if err := tx.PutDistrict(&d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) addUser(t *testing.T, name string, role store.Role, password string, districts ...string) {
	t.Helper()
	if _, err := accounts.Add(ctx, e.st, accounts.NewUser{Name: name, Role: role, Districts: districts, Password: password}); err != nil {
		t.Fatal(err)
	}
}

// device is a registrar's phone: the real SDK on its own bbolt file.
func (e *env) device(t *testing.T, user string) *sdk.Device {
	t.Helper()
	d, err := sdk.Open(filepath.Join(e.dir, fmt.Sprintf("%s-%d.db", user, time.Now().UnixNano())),
		sdk.Options{ServerURL: e.url, BackoffBase: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Login(ctx, user, user+"-password-1"); err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return d
}

func mustSync(t *testing.T, d *sdk.Device) {
	t.Helper()
	if _, err := d.Sync(ctx); err != nil {
		t.Fatalf("sync %s: %v", d.ID(), err)
	}
}

func registration(seed uint64, name string) map[string]json.RawMessage {
	f := bench.Registration(rand.New(rand.NewPCG(seed, 7)), int(seed))
	f["name"] = str(name)
	return f
}

func str(s string) json.RawMessage { b, _ := json.Marshal(s); return b }

// conflictOnVoterGroup makes two registrars edit one field of one record
// offline: the server keeps the first and stores a conflict. It returns
// the record, the conflict and the device whose edit was not applied.
func (e *env) conflictOnVoterGroup(t *testing.T, name string) (string, dsync.Conflict, *sdk.Device) {
	t.Helper()
	a, b := e.device(t, "li"), e.device(t, "wang")
	id, err := a.Create(model.TypeRegistration, distA1, registration(1, name))
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, a)
	mustSync(t, b)
	if err := a.Update(id, map[string]json.RawMessage{"voter_group": str("第7选民小组")}); err != nil {
		t.Fatal(err)
	}
	if err := b.Update(id, map[string]json.RawMessage{"voter_group": str("第9选民小组")}); err != nil {
		t.Fatal(err)
	}
	mustSync(t, a)
	mustSync(t, b)
	var cs []dsync.Conflict
	e.st.View(ctx, func(tx store.Tx) error {
		var err error
		cs, err = tx.Conflicts(store.ConflictQuery{Status: dsync.ConflictOpen})
		return err
	})
	if len(cs) != 1 {
		t.Fatalf("want one conflict, have %d", len(cs))
	}
	return id, cs[0], b
}

// duplicateCase registers one person twice, in two districts of county A
// (the same ID number), and runs the duplicate check: one open case.
func (e *env) duplicateCase(t *testing.T) store.DupCase {
	t.Helper()
	d := e.device(t, "li")
	f := registration(42, "梁峻青")
	if _, err := d.Create(model.TypeRegistration, distA1, f); err != nil {
		t.Fatal(err)
	}
	f2 := registration(42, "梁峻青")
	f2["ref"] = str("other-ref")
	f2["household_address"] = str("湖南省长沙市芙蓉区荷花池路8号")
	if _, err := d.Create(model.TypeRegistration, distA2, f2); err != nil {
		t.Fatal(err)
	}
	for i := range 20 { // others, so the engine has frequencies to weigh by
		if _, err := d.Create(model.TypeRegistration, distA2, registration(uint64(100+i), fmt.Sprintf("张%c", '一'+rune(i)))); err != nil {
			t.Fatal(err)
		}
	}
	mustSync(t, d)
	if _, err := dedupjob.Run(ctx, e.st, dedupjob.DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	var cases []store.DupCase
	e.st.View(ctx, func(tx store.Tx) error {
		var err error
		cases, err = tx.DupCases(store.DupCaseQuery{Status: store.DupOpen})
		return err
	})
	if len(cases) != 1 {
		t.Fatalf("want one open duplicate case, have %d", len(cases))
	}
	return cases[0]
}

// client is a browser without a browser: a cookie jar, no redirects
// followed, for the security tests.
type client struct {
	*http.Client
	base string
}

func (e *env) client(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{&http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}, e.url}
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// get fetches a page and returns it with the CSRF token of its forms.
func (c *client) get(t *testing.T, path string) (*http.Response, string, string) {
	t.Helper()
	resp, err := c.Get(c.base + path)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	token := ""
	if m := csrfInput.FindStringSubmatch(string(body)); m != nil {
		token = m[1]
	}
	return resp, string(body), token
}

func (c *client) post(t *testing.T, path string, form url.Values) *http.Response {
	t.Helper()
	resp, err := c.PostForm(c.base+path, form)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// signIn signs in through the form, CSRF token and all.
func (c *client) signIn(t *testing.T, user, password string) {
	t.Helper()
	_, _, token := c.get(t, "/console/login")
	resp := c.post(t, "/console/login", url.Values{"csrf": {token}, "username": {user}, "password": {password}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/" {
		t.Fatalf("sign in as %s: %d %s", user, resp.StatusCode, resp.Header.Get("Location"))
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
