package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/api"
	"github.com/dengji/dengji/server/auth"
	"github.com/dengji/dengji/server/dedupjob"
	"github.com/dengji/dengji/server/roll"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore/bolttest"
	dsync "github.com/dengji/dengji/sync"
)

// The authorisation matrix (issue #9): every route gin has, from its own
// route table, called as every kind of caller, each answer checked against
// the route's declared policy (api.Policies).

// authzDistrict is the district the matrix's requests name; authzOther is
// another county's, the scope of the callers out of scope.
const (
	authzDistrict = "430102001001"
	authzOther    = "430104001001"
)

// authzBodies are the request bodies the matrix sends, by route: enough to
// get past decoding to the scope check. A route not named gets no body.
// A scoped POST route must have one (TestAuthz_Matrix says so).
var authzBodies = map[string]func(fx *authzFixture) any{
	"POST /v1/auth/login": func(*authzFixture) any {
		return map[string]string{"username": "li", "password": "li-password"}
	},
	"POST /v1/auth/refresh": func(*authzFixture) any { return map[string]string{"refresh_token": "authz-x"} },
	"POST /v1/auth/logout":  func(*authzFixture) any { return map[string]string{"refresh_token": "authz-x"} },
	"POST /v1/push": func(fx *authzFixture) any {
		// A new change ID each time: one taken by an earlier caller would
		// be answered change_id_taken before its district is looked at.
		fx.pushes++
		return dsync.PushRequest{Changes: []dsync.Change{create("phone-1", "r-authz", authzDistrict, 100+fx.pushes)}}
	},
	"POST /v1/sync": func(fx *authzFixture) any {
		fx.pushes++
		return dsync.PushRequest{Changes: []dsync.Change{create("phone-1", "r-authz", authzDistrict, 100+fx.pushes)}}
	},
	"POST /v1/conflicts/status":      func(fx *authzFixture) any { return map[string]any{"ids": []string{fx.conflict}} },
	"POST /v1/conflicts/:id/resolve": func(*authzFixture) any { return map[string]string{"choice": "kept"} },
	"POST /v1/duplicates/:id/decide": func(*authzFixture) any { return map[string]string{"decision": "rejected"} },
	"POST /v1/notices/:id/answer":    func(*authzFixture) any { return map[string]string{"answer": "different_person"} },
	"POST /v1/conflicts/:id/reopen":  func(*authzFixture) any { return map[string]string{"reason": "authz"} },
	"POST /v1/duplicates/:id/reopen": func(*authzFixture) any { return map[string]string{"reason": "authz"} },
	"PATCH /v1/users/:name":          func(*authzFixture) any { return map[string]string{"full_name": "周"} },
}

// caller is one kind of caller of the matrix.
type caller struct {
	name    string
	token   string
	role    store.Role // "" when the token names nobody
	refused string     // the 401 code a protected route answers its token, "" if it authenticates
	device  bool       // the token was issued to an enrolled device
	inScope bool       // authzDistrict is in its scope
	pwToken bool       // a password-change token: good for POST /v1/me/password only
}

// authzFixture is the server the matrix calls, its callers, and objects in
// authzDistrict's county for the routes' path parameters.
type authzFixture struct {
	s        *testServer
	callers  []caller
	conflict string // a conflict in authzDistrict
	dupCase  string // a duplicate case with both members in wang's districts
	notice   string // a notice to authzDistrict's registrars on that case
	markers  []string
	pushes   uint64 // pushes made, so each sends a change ID of its own
}

func newAuthzFixture(t *testing.T) *authzFixture {
	t.Helper()
	ctx := context.Background()
	s := startServer(t) // admin, li (registrar of authzDistrict), wang (its coordinator)
	fx := &authzFixture{s: s}
	addUser(t, s, "sun", store.RoleCoordinator, authzOther)
	addUser(t, s, "zhao", store.RoleRegistrar, authzOther)
	addUser(t, s, "qian", store.RoleAdmin)
	addUser(t, s, "zheng", store.RoleAdmin)
	addUser(t, s, "liu", store.RoleRegistrar, authzDistrict)
	addUser(t, s, "zhou", store.RoleRegistrar, authzDistrict) // the admin routes' :name
	s.login(t, "zhou", "zhou-password", "phone-target")       // the admin routes' device :id

	li := s.login(t, "li", "li-password", "phone-1")
	fx.conflict = makeConflict(t, s, li.AccessToken)
	if _, err := roll.ImportDistricts(ctx, s.st, strings.NewReader(authzDistrict+",水塘垸村,村,430102001\n"+
		"430102001002,黄花社区,社区,430102001\n"), roll.Options{Author: "admin", Format: roll.FormatCSV}); err != nil {
		t.Fatal(err) // so the roll's export has a district to export
	}
	fx.dupCase = authzDupCase(t, s)
	fx.notice = authzNotice(t, s, fx.dupCase)

	// A disabled admin and an admin on a revoked device, their tokens
	// issued before.
	qian := s.login(t, "qian", "qian-password", "phone-qian")
	if err := accounts.SetDisabled(ctx, s.st, "qian", true); err != nil {
		t.Fatal(err)
	}
	zheng := s.login(t, "zheng", "zheng-password", "phone-zheng")
	if err := accounts.Revoke(ctx, s.st, "phone-zheng"); err != nil {
		t.Fatal(err)
	}
	// A password-change token: a sign-in with a one-time password.
	otp, err := accounts.ResetPassword(ctx, s.st, "liu")
	if err != nil {
		t.Fatal(err)
	}
	var eb struct {
		Error struct {
			Details struct {
				PasswordToken string `json:"password_token"`
			}
		}
	}
	if code := s.call(t, "POST", "/v1/auth/login", "", map[string]string{"username": "liu", "password": otp,
		"device_id": "phone-liu"}, &eb); code != 403 || eb.Error.Details.PasswordToken == "" {
		t.Fatalf("sign-in with a one-time password: %d", code)
	}
	// An admin's token signed with a key the server does not have.
	forger, err := auth.NewIssuer(auth.NewKeySet(), 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	forged, _, err := forger.Issue("admin", "", string(store.RoleAdmin))
	if err != nil {
		t.Fatal(err)
	}

	fx.callers = []caller{
		{name: "anonymous", refused: "unauthorized"},
		{name: "garbage_token", token: "not-a-jwt", refused: "unauthorized"},
		{name: "forged_admin", token: forged, refused: "unauthorized"},
		{name: "password_token", token: eb.Error.Details.PasswordToken, role: store.RoleRegistrar,
			refused: "unauthorized", device: true, inScope: true, pwToken: true},
		{name: "disabled_admin", token: qian.AccessToken, role: store.RoleAdmin, refused: "user_disabled", device: true},
		{name: "revoked_device_admin", token: zheng.AccessToken, role: store.RoleAdmin, refused: "device_revoked", device: true},
		{name: "registrar", token: li.AccessToken, role: store.RoleRegistrar, device: true, inScope: true},
		{name: "registrar_out_of_scope", token: s.login(t, "zhao", "zhao-password", "phone-zhao").AccessToken,
			role: store.RoleRegistrar, device: true},
		{name: "coordinator_out_of_scope", token: s.login(t, "sun", "sun-password", "phone-sun").AccessToken,
			role: store.RoleCoordinator, device: true},
		{name: "coordinator", token: s.login(t, "wang", "wang-password", "phone-wang").AccessToken,
			role: store.RoleCoordinator, device: true, inScope: true},
		{name: "admin", token: s.login(t, "admin", "admin-pass", "").AccessToken, role: store.RoleAdmin, inScope: true},
	}
	// What a caller out of scope must never read in an answer.
	fx.markers = []string{authzDistrict, "430102001002", fx.conflict, fx.dupCase, fx.notice}
	return fx
}

// authzDupCase plants a person registered twice in wang's two districts,
// runs the duplicate check and returns the case's ID.
func authzDupCase(t *testing.T, s *testServer) string {
	t.Helper()
	recs, pairs := plantedRoll([3]string{authzDistrict, "430102001002", "x-authz"})
	pushRoll(t, s.st, recs)
	admin := s.login(t, "admin", "admin-pass", "")
	if code := s.call(t, "POST", "/v1/admin/dedup", admin.AccessToken, nil, nil); code != 202 {
		t.Fatalf("start the duplicate check: %d", code)
	}
	waitDedup(t, s, admin.AccessToken)
	var list duplicatesBody
	s.call(t, "GET", "/v1/duplicates?district="+authzDistrict, admin.AccessToken, nil, &list)
	for _, c := range list.Cases {
		for _, m := range c.Members {
			if m.Record == pairs[0][1] {
				return c.ID
			}
		}
	}
	t.Fatalf("no case for the planted pair %v in %+v", pairs[0], list)
	return ""
}

// authzNotice stores a notice on the case's member in authzDistrict, as an
// incremental run would have written had that registration come late.
func authzNotice(t *testing.T, s *testServer, dupCase string) string {
	t.Helper()
	var n dsync.Notice
	err := s.st.Update(context.Background(), func(tx store.Tx) error {
		c, err := tx.DupCase(dupCase)
		if err != nil {
			return err
		}
		for _, m := range c.Members {
			if m.District == authzDistrict {
				n = dsync.Notice{ID: dedupjob.NoticeID(c.ID, m.Record), Record: m.Record, District: m.District,
					Case: c.ID, Strength: c.Decision, Status: "open", Message: "可能已在黄花社区登记", Created: time.Now()}
			}
		}
		return tx.PutNotice(&n)
	})
	if err != nil || n.ID == "" {
		t.Fatalf("plant a notice: %v", err)
	}
	return n.ID
}

// waitDedup waits until no duplicate check runs.
func waitDedup(t *testing.T, s *testServer, token string) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var st struct {
			Running bool            `json:"running"`
			Last    json.RawMessage `json:"last"`
		}
		s.call(t, "GET", "/v1/admin/dedup", token, nil, &st)
		if !st.Running && len(st.Last) > 0 && string(st.Last) != "null" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the duplicate check did not finish")
		}
	}
}

// paramValue is a plausible value of a path parameter: the fixture's
// object of the kind the path's previous segment names.
func (fx *authzFixture) paramValue(prev, param string) string {
	switch prev + "/" + param {
	case "conflicts/:id":
		return fx.conflict
	case "duplicates/:id":
		return fx.dupCase
	case "notices/:id":
		return fx.notice
	case "devices/:id":
		return "phone-target"
	case "users/:name":
		return "zhou"
	case "records/:id":
		return "r-c" // the record of fx.conflict (makeConflict)
	}
	return "authz-x"
}

// target is the path (parameters filled in, the scope's query parameter
// naming authzDistrict) and body the matrix sends to p's route.
func (fx *authzFixture) target(t *testing.T, p api.Policy) (string, any) {
	segs := strings.Split(p.Path, "/")
	for i, seg := range segs {
		if strings.HasPrefix(seg, ":") || strings.HasPrefix(seg, "*") {
			v := fx.paramValue(segs[i-1], seg)
			segs[i] = url.PathEscape(v)
			if p.Scope.By == api.ByObject && v == "authz-x" {
				t.Errorf("%s %s is scoped by the object %s names: give paramValue an object of it in authzDistrict's county",
					p.Method, p.Path, seg)
			}
		}
	}
	path := strings.Join(segs, "/")
	if p.Scope.By == api.ByQuery {
		path += "?" + p.Scope.Field + "=" + authzDistrict
	}
	body, ok := authzBodies[p.Method+" "+p.Path]
	if !ok {
		if p.Method != "GET" && p.Scope.By != api.Unscoped {
			t.Errorf("%s %s is scoped (%s): give it a body in authzBodies that reaches its scope check",
				p.Method, p.Path, p.Scope)
		}
		return path, nil
	}
	return path, body(fx)
}

// answer is what a route answered.
type answer struct {
	status int
	code   string // the error code, if any
	body   []byte
}

func (a answer) String() string { return fmt.Sprintf("%d %s", a.status, a.code) }

func (fx *authzFixture) send(t *testing.T, method, path, token string, body any) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, fx.s.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode}
	a.body, _ = io.ReadAll(resp.Body)
	var eb dsync.ErrorBody
	if json.Unmarshal(a.body, &eb) == nil {
		a.code = eb.Error.Code
	}
	return a
}

// Codes that refuse a caller for who or where it is.
var authzCodes = []string{"unauthorized", "token_expired", "user_disabled", "device_revoked",
	"forbidden", "out_of_scope", "device_required"}

// want is what p's route must answer c.
type want struct {
	status int    // with code: exactly this refusal
	code   string // the refusal's code
	scope  bool   // out of scope, refused or left out as p.Scope says
}

var allowed = want{}

func expect(p api.Policy, c caller) (want, error) {
	if c.pwToken && p.Access == api.OwnPassword {
		return allowed, nil
	}
	if c.refused != "" {
		return want{status: 401, code: c.refused}, nil
	}
	switch p.Access {
	case api.OwnPassword, api.SignedIn:
	case api.EnrolledDevice:
		if !c.device {
			return want{status: 403, code: "device_required"}, nil
		}
	case api.Reviewer:
		if c.role != store.RoleCoordinator && c.role != store.RoleAdmin {
			return want{status: 403, code: "forbidden"}, nil
		}
	case api.AdminOnly:
		if c.role != store.RoleAdmin {
			return want{status: 403, code: "forbidden"}, nil
		}
	default:
		return want{}, fmt.Errorf("no expectation for access %v: teach expect what it means", p.Access)
	}
	if p.Scope.By != api.Unscoped && !c.inScope {
		return want{scope: true}, nil
	}
	return allowed, nil
}

// check reports how got breaks w, or "".
func (fx *authzFixture) check(p api.Policy, w want, got answer) string {
	switch {
	case got.status >= 500:
		return "a server error"
	case w.code != "":
		if got.status != w.status || got.code != w.code {
			return fmt.Sprintf("want %d %s", w.status, w.code)
		}
	case w.scope:
		for _, m := range fx.markers {
			if bytes.Contains(got.body, []byte(m)) {
				return fmt.Sprintf("the answer out of scope shows %q", m)
			}
		}
		refused := got.status == 403 && got.code == "out_of_scope"
		notFound := got.status == 404 && got.code == "not_found"
		switch p.Scope.By {
		case api.ByQuery, api.ByBody:
			if !refused {
				return "want 403 out_of_scope"
			}
		case api.ByObject:
			if !refused && !notFound {
				return "want 404 not_found or 403 out_of_scope"
			}
		case api.InAnswer:
			if got.status >= 300 {
				return "want an answer without what is out of scope"
			}
		case api.PerItem:
			if got.status != 200 || !bytes.Contains(got.body, []byte(`"code":"out_of_scope"`)) {
				return "want 200 with the item refused out_of_scope"
			}
		default:
			return fmt.Sprintf("no expectation for scope %v", p.Scope.By)
		}
	case slices.Contains(authzCodes, got.code) || got.status == 401 || got.status == 403:
		return "an allowed caller refused"
	}
	return ""
}

// TestAuthz_Matrix calls every route of gin's table as every kind of
// caller and checks each answer against the route's declared policy. A
// route without a policy fails, and so does a policy without a route.
func TestAuthz_Matrix(t *testing.T) {
	fx := newAuthzFixture(t)
	policies := map[string]api.Policy{}
	for _, p := range api.Policies() {
		policies[p.Method+" "+p.Path] = p
	}
	extra, missing := undeclared(engineOf(t, fx.s.Server).Routes(), api.Policies())
	for _, r := range extra {
		t.Errorf("route %s has no declared policy: declare it in routeTable (server/api/server.go)", r)
	}
	for _, r := range missing {
		t.Errorf("policy %s declares a route gin does not have", r)
	}
	for _, ri := range engineOf(t, fx.s.Server).Routes() {
		p, ok := policies[ri.Method+" "+ri.Path]
		if !ok {
			continue
		}
		t.Run(ri.Method+"_"+ri.Path, func(t *testing.T) {
			path, body := fx.target(t, p)
			var first *answer
			for _, c := range fx.callers {
				t.Run(c.name, func(t *testing.T) {
					if p.Scope.By == api.PerItem {
						_, body = fx.target(t, p) // items of their own: see authzBodies
					}
					got := fx.send(t, p.Method, path, c.token, body)
					if p.Access == api.Anyone {
						// The token is ignored: every caller is answered alike.
						if first == nil {
							first = &got
						}
						if got.status >= 500 || got.status != first.status || got.code != first.code {
							t.Errorf("%s %s as %s: %v, as %s %v: a route for anyone answers every caller alike",
								p.Method, path, c.name, got, fx.callers[0].name, *first)
						}
						return
					}
					w, err := expect(p, c)
					if err != nil {
						t.Fatal(err)
					}
					if why := fx.check(p, w, got); why != "" {
						t.Errorf("%s %s (%s, %s) as %s: %v: %s", p.Method, path, p.Access, p.Scope, c.name, got, why)
					}
				})
			}
		})
	}
	// Let the duplicate check the admin started finish before the store closes.
	waitDedup(t, fx.s, fx.callers[len(fx.callers)-1].token)
}

// TestAuthz_OneTimePasswordOnNewDevice: a user given a one-time password
// signs in for the first time on a phone not enrolled yet and changes the
// password with the token the sign-in answered; the change enrols the
// phone. (The matrix found the change refused 401: the token's device was
// looked up as if enrolled.) A device revoked or another user's is still
// refused.
func TestAuthz_OneTimePasswordOnNewDevice(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	otp, err := accounts.Add(ctx, s.st, accounts.NewUser{Name: "xu", Role: store.RoleRegistrar,
		Districts: []string{authzDistrict}})
	if err != nil || otp == "" {
		t.Fatalf("add with a generated password: %q %v", otp, err)
	}
	passwordToken := func(device string) string {
		t.Helper()
		var eb struct {
			Error struct {
				Code    string
				Details struct {
					PasswordToken string `json:"password_token"`
				}
			}
		}
		if code := s.call(t, "POST", "/v1/auth/login", "", map[string]string{"username": "xu", "password": otp,
			"device_id": device}, &eb); code != 403 || eb.Error.Code != "password_change_required" {
			t.Fatalf("sign-in with the one-time password on %s: %d %s", device, code, eb.Error.Code)
		}
		return eb.Error.Details.PasswordToken
	}
	s.login(t, "li", "li-password", "phone-1") // li's phone
	if status, code := errCode(t, s, "POST", "/v1/me/password", passwordToken("phone-1"), map[string]string{
		"old": otp, "new": "xu-new-password"}); status != 401 || code != "device_revoked" {
		t.Fatalf("a password-change token on another user's phone: %d %s", status, code)
	}

	var tk tokens
	if code := s.call(t, "POST", "/v1/me/password", passwordToken("phone-xu"), map[string]string{
		"old": otp, "new": "xu-new-password"}, &tk); code != 200 || tk.AccessToken == "" {
		t.Fatalf("the change from a phone not enrolled yet: %d", code)
	}
	var me struct {
		Device *store.Device `json:"device"`
	}
	if code := s.call(t, "GET", "/v1/me", tk.AccessToken, nil, &me); code != 200 || me.Device == nil ||
		me.Device.ID != "phone-xu" || me.Device.User != "xu" {
		t.Fatalf("after the change: %d %+v", code, me.Device)
	}
	if code, pr := pushAs(t, s, tk.AccessToken, create("phone-xu", "r-xu", authzDistrict, 1)); code != 200 ||
		pr.Results[0].Status != dsync.StatusApplied {
		t.Fatalf("push from the phone the change enrolled: %d %+v", code, pr)
	}

	// Once more on a phone the admin revoked in the meantime: refused.
	if otp, err = accounts.ResetPassword(ctx, s.st, "xu"); err != nil {
		t.Fatal(err)
	}
	pwt := passwordToken("phone-xu")
	if err := accounts.Revoke(ctx, s.st, "phone-xu"); err != nil {
		t.Fatal(err)
	}
	if status, code := errCode(t, s, "POST", "/v1/me/password", pwt, map[string]string{
		"old": otp, "new": "xu-third-password"}); status != 401 || code != "device_revoked" {
		t.Fatalf("a password-change token of a revoked phone: %d %s", status, code)
	}
}

// TestAuthz_UndeclaredRouteFails: a route added to the engine beside the
// table is one the matrix reports, and a server refuses to start with.
func TestAuthz_UndeclaredRouteFails(t *testing.T) {
	cfg := api.DefaultConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := api.New(context.Background(), bolttest.Open(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	e := engineOf(t, srv)
	if extra, missing := undeclared(e.Routes(), api.Policies()); len(extra)+len(missing) > 0 {
		t.Fatalf("before: undeclared %v, without a route %v", extra, missing)
	}
	e.GET("/v1/admin/authz-probe", func(c *gin.Context) { c.Status(200) })
	extra, _ := undeclared(e.Routes(), api.Policies())
	if !slices.Equal(extra, []string{"GET /v1/admin/authz-probe"}) {
		t.Fatalf("a route added beside the table: undeclared %v", extra)
	}
	_, missing := undeclared(e.Routes(), append(api.Policies(), api.Policy{Method: "GET", Path: "/v1/admin/nothing"}))
	if !slices.Equal(missing, []string{"GET /v1/admin/nothing"}) {
		t.Fatalf("a policy without a route: %v", missing)
	}
}

// TestAuthz_PoliciesComplete: every policy says who may call its route,
// and a scope other than by answer names its parameter or field.
func TestAuthz_PoliciesComplete(t *testing.T) {
	for _, p := range api.Policies() {
		if strings.HasPrefix(p.Access.String(), "Access(") {
			t.Errorf("%s %s: no access declared", p.Method, p.Path)
		}
		if p.Scope.By != api.Unscoped && p.Scope.By != api.InAnswer && p.Scope.Field == "" {
			t.Errorf("%s %s: scoped %v without the parameter or field naming the district", p.Method, p.Path, p.Scope.By)
		}
		if p.Scope.By != api.Unscoped && p.Access == api.Anyone {
			t.Errorf("%s %s: scoped, but anyone may call it", p.Method, p.Path)
		}
	}
}

func engineOf(t *testing.T, s *api.Server) *gin.Engine {
	t.Helper()
	e, ok := s.Handler().(*gin.Engine)
	if !ok {
		t.Fatalf("the handler is a %T, not a *gin.Engine", s.Handler())
	}
	return e
}

// undeclared compares gin's routes with the declared policies: routes
// without a policy, and policies without a route.
func undeclared(routes gin.RoutesInfo, policies []api.Policy) (extra, missing []string) {
	declared := map[string]bool{}
	for _, p := range policies {
		declared[p.Method+" "+p.Path] = true
	}
	have := map[string]bool{}
	for _, r := range routes {
		key := r.Method + " " + r.Path
		have[key] = true
		if !declared[key] {
			extra = append(extra, key)
		}
	}
	for key := range declared {
		if !have[key] {
			missing = append(missing, key)
		}
	}
	slices.Sort(extra)
	slices.Sort(missing)
	return extra, missing
}
