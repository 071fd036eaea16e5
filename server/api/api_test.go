package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/api"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore/bolttest"
	dsync "github.com/dengji/dengji/sync"
)

// testServer is a real server on a real listener over a real bbolt file.
type testServer struct {
	*api.Server
	st store.Store
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	return startServerOn(t, bolttest.Open(t), nil)
}

// startServerOn starts a server over st on a real listener, with the
// configuration set changes (nil: the defaults), and the test users admin,
// li (a registrar of 430102001001) and wang (a coordinator of it and
// 430102001002).
func startServerOn(t *testing.T, st store.Store, set func(*api.Config)) *testServer {
	t.Helper()
	s := startBareServer(t, st, set)
	for _, u := range []accounts.NewUser{
		{Name: "admin", Role: store.RoleAdmin, Password: "admin-pass"},
		{Name: "li", Role: store.RoleRegistrar, Districts: []string{"430102001001"}, Password: "li-password"},
		{Name: "wang", Role: store.RoleCoordinator, Districts: []string{"430102001001", "430102001002"}, Password: "wang-password"},
	} {
		if _, err := accounts.Add(context.Background(), st, u); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// startBareServer is startServerOn without any user.
func startBareServer(t *testing.T, st store.Store, set func(*api.Config)) *testServer {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if set != nil {
		set(&cfg)
	}
	srv, err := api.New(context.Background(), st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { srv.Close() })
	return &testServer{Server: srv, st: st}
}

type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// call sends a JSON request and decodes the JSON answer into out (if not nil).
func (s *testServer) call(t *testing.T, method, path, token string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.URL()+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

func (s *testServer) login(t *testing.T, user, pw, device string) tokens {
	t.Helper()
	var tk tokens
	if code := s.call(t, "POST", "/v1/auth/login", "", map[string]string{
		"username": user, "password": pw, "device_id": device}, &tk); code != 200 {
		t.Fatalf("login %s: %d", user, code)
	}
	return tk
}

func errCode(t *testing.T, s *testServer, method, path, token string, body any) (int, string) {
	t.Helper()
	var eb dsync.ErrorBody
	code := s.call(t, method, path, token, body, &eb)
	return code, eb.Error.Code
}

func create(dev, id, district string, n uint64) dsync.Change {
	return dsync.Change{ID: fmt.Sprintf("%s-%d", dev, n), Device: dev, Counter: n, Record: id, Type: "registration",
		District: district, Op: dsync.OpCreate, Set: map[string]json.RawMessage{"name": json.RawMessage(`"李碧辉"`)}}
}

// A change outside the caller's districts is refused alone: the rest of
// the batch is applied, the refusal is remembered like any other answer,
// and the device goes on pulling.
func TestAPI_PushOutOfScopeRefusedAlone(t *testing.T) {
	s := startServer(t)
	li := s.login(t, "li", "li-password", "phone-1")
	batch := dsync.PushRequest{Changes: []dsync.Change{create("phone-1", "r1", "430102001001", 1),
		create("phone-1", "r2", "430104001001", 2), create("phone-1", "r3", "430102001001", 3)}}
	for round, want := range []dsync.Status{dsync.StatusApplied, dsync.StatusDuplicate} {
		var pr dsync.PushResponse
		if code := s.call(t, "POST", "/v1/push", li.AccessToken, batch, &pr); code != 200 || len(pr.Results) != 3 {
			t.Fatalf("round %d: %d %+v", round, code, pr)
		}
		if pr.Results[0].Status != want || pr.Results[2].Status != want {
			t.Errorf("round %d: the changes in scope: %+v", round, pr.Results)
		}
		if r := pr.Results[1]; r.Code != dsync.CodeOutOfScope || r.Reason == "" {
			t.Errorf("round %d: the change out of scope: %+v", round, r)
		}
	}
	var page dsync.PullResponse
	if code := s.call(t, "GET", "/v1/pull", li.AccessToken, nil, &page); code != 200 || len(page.Records) != 2 {
		t.Fatalf("pull after the refusal: %d, %d records", code, len(page.Records))
	}
	// Short results: the same answers in order, without the change IDs.
	var pr dsync.PushResponse
	if code := s.call(t, "POST", "/v1/push?results=short", li.AccessToken, batch, &pr); code != 200 || len(pr.Results) != 3 ||
		pr.Results[0].Change != "" || pr.Results[0].Status != dsync.StatusDuplicate || pr.Results[1].Code != dsync.CodeOutOfScope {
		t.Fatalf("short results: %d %+v", code, pr)
	}
}

func TestAPI_Errors(t *testing.T) {
	s := startServer(t)
	li := s.login(t, "li", "li-password", "phone-1")
	wang := s.login(t, "wang", "wang-password", "")
	admin := s.login(t, "admin", "admin-pass", "")
	tests := []struct {
		name, method, path, token string
		body                      any
		status                    int
		code                      string
	}{
		{"BadPassword", "POST", "/v1/auth/login", "", map[string]string{"username": "li", "password": "nope"}, 401, "invalid_credentials"},
		{"UnknownUser", "POST", "/v1/auth/login", "", map[string]string{"username": "ghost", "password": "nope"}, 401, "invalid_credentials"},
		{"UnknownField", "POST", "/v1/auth/login", "", map[string]string{"user": "li"}, 400, "bad_request"},
		{"NoToken", "GET", "/v1/pull", "", nil, 401, "unauthorized"},
		{"BadToken", "GET", "/v1/pull", "not-a-jwt", nil, 401, "unauthorized"},
		{"PushUnknownField", "POST", "/v1/push", li.AccessToken,
			json.RawMessage(`{"changes":[{"id":"phone-1-9","bogus":1}]}`), 400, "bad_request"},
		{"PushNotAList", "POST", "/v1/push", li.AccessToken, json.RawMessage(`{"changes":{"id":"x"}}`), 400, "bad_request"},
		{"PullOutOfScope", "GET", "/v1/pull?district=430104001001", li.AccessToken, nil, 403, "out_of_scope"},
		{"PushWithoutDevice", "POST", "/v1/push", wang.AccessToken, dsync.PushRequest{}, 403, "device_required"},
		{"RegistrarListsConflicts", "GET", "/v1/conflicts", li.AccessToken, nil, 403, "forbidden"},
		{"CoordinatorAddsUser", "POST", "/v1/users", wang.AccessToken, map[string]any{"name": "x"}, 403, "forbidden"},
		{"AddUserWithoutDistricts", "POST", "/v1/users", admin.AccessToken, map[string]any{"name": "zhao", "role": "registrar"}, 400, "bad_user"},
		{"AddExistingUser", "POST", "/v1/users", admin.AccessToken, map[string]any{"name": "li", "role": "admin"}, 409, "user_exists"},
		{"ResolveUnknown", "POST", "/v1/conflicts/nope/resolve", wang.AccessToken, map[string]string{"choice": "kept"}, 404, "not_found"},
		{"NoRoute", "GET", "/v1/nothing", li.AccessToken, nil, 404, "not_found"},
		{"RefreshGarbage", "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": "x"}, 401, "unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code := errCode(t, s, tt.method, tt.path, tt.token, tt.body)
			if status != tt.status || code != tt.code {
				t.Fatalf("got %d %q, want %d %q", status, code, tt.status, tt.code)
			}
		})
	}
	// The refused out-of-scope batch stored nothing, not even its in-scope change.
	var page dsync.PullResponse
	s.call(t, "GET", "/v1/pull", li.AccessToken, nil, &page)
	if len(page.Records) != 0 {
		t.Fatalf("a refused batch left %d records", len(page.Records))
	}
}

// A body outside the shape devices send (here escaped strings) takes the
// general decoder and is applied all the same.
func TestAPI_PushGeneralDecoder(t *testing.T) {
	s := startServer(t)
	li := s.login(t, "li", "li-password", "phone-1")
	body := json.RawMessage(`{"changes":[{"id":"phone-1-\u0031","device":"phone-1","n":1,"record":"r1",` +
		`"type":"registration","district":"430102001001","op":"create","set":{"name":"\u674e\u78a7\u8f89"},"hlc":"5"}]}`)
	var pr dsync.PushResponse
	if code := s.call(t, "POST", "/v1/push", li.AccessToken, body, &pr); code != 200 ||
		len(pr.Results) != 1 || pr.Results[0].Change != "phone-1-1" || pr.Results[0].Status != dsync.StatusApplied {
		t.Fatalf("push: %d %+v", code, pr)
	}
}

func TestAPI_RevokedDeviceRefusedAtOnce(t *testing.T) {
	s := startServer(t)
	li := s.login(t, "li", "li-password", "phone-1")
	admin := s.login(t, "admin", "admin-pass", "")
	if code := s.call(t, "GET", "/v1/pull", li.AccessToken, nil, nil); code != 200 {
		t.Fatalf("pull before revoke: %d", code)
	}
	if code := s.call(t, "POST", "/v1/devices/phone-1/revoke", admin.AccessToken, nil, nil); code != 204 {
		t.Fatalf("revoke: %d", code)
	}
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/v1/pull", nil},
		{"POST", "/v1/push", dsync.PushRequest{Changes: []dsync.Change{create("phone-1", "r1", "430102001001", 1)}}},
	} {
		if status, code := errCode(t, s, tc.method, tc.path, li.AccessToken, tc.body); status != 401 || code != "device_revoked" {
			t.Fatalf("%s %s after revoke: %d %s", tc.method, tc.path, status, code)
		}
	}
	if status, _ := errCode(t, s, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": li.RefreshToken}); status != 401 {
		t.Fatalf("refresh after revoke: %d", status)
	}
	if status, code := errCode(t, s, "POST", "/v1/auth/login", "", map[string]string{
		"username": "li", "password": "li-password", "device_id": "phone-1"}); status != 401 || code != "device_revoked" {
		t.Fatalf("login from a revoked device: %d %s", status, code)
	}
}

func TestAPI_RefreshRotates(t *testing.T) {
	s := startServer(t)
	li := s.login(t, "li", "li-password", "phone-1")
	var next tokens
	if code := s.call(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": li.RefreshToken}, &next); code != 200 || next.AccessToken == "" {
		t.Fatalf("refresh: %d", code)
	}
	// Once more within the grace: the same pair (an answer lost in
	// transit); a third time: refused, the session revoked.
	s.call(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": li.RefreshToken}, nil)
	if code := s.call(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": li.RefreshToken}, nil); code != 401 {
		t.Fatalf("a used refresh token must not work a third time: %d", code)
	}
	if code := s.call(t, "GET", "/v1/me", next.AccessToken, nil, nil); code != 200 {
		t.Fatalf("new access token: %d", code)
	}
	if code := s.call(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": next.RefreshToken}, nil); code != 401 {
		t.Fatalf("the session must be revoked after a reuse: %d", code)
	}
}

func TestAPI_DisabledUserRefusedAtOnce(t *testing.T) {
	s := startServer(t)
	li := s.login(t, "li", "li-password", "phone-1")
	admin := s.login(t, "admin", "admin-pass", "")
	s.call(t, "POST", "/v1/users/li/disable", admin.AccessToken, nil, nil)
	if status, code := errCode(t, s, "GET", "/v1/pull", li.AccessToken, nil); status != 401 || code != "user_disabled" {
		t.Fatalf("disabled user: %d %s", status, code)
	}
}

func TestAPI_DeviceTakenByAnotherUser(t *testing.T) {
	s := startServer(t)
	s.login(t, "li", "li-password", "phone-1")
	if status, code := errCode(t, s, "POST", "/v1/auth/login", "", map[string]string{
		"username": "wang", "password": "wang-password", "device_id": "phone-1"}); status != 409 || code != "device_taken" {
		t.Fatalf("%d %s", status, code)
	}
}

// A registrar given a town's nine digits works in every village of the town,
// one the server has never seen included, and in no other town.
func TestAPI_TownScope(t *testing.T) {
	s := startServer(t)
	for _, u := range []accounts.NewUser{
		{Name: "zhou", Role: store.RoleRegistrar, Districts: []string{"430102001"}, Password: "zhou-password"},
		{Name: "chen", Role: store.RoleRegistrar, Districts: []string{"430102001002", "430102002001"}, Password: "chen-password"},
	} {
		if _, err := accounts.Add(context.Background(), s.st, u); err != nil {
			t.Fatal(err)
		}
	}
	chen := s.login(t, "chen", "chen-password", "phone-c")
	var pr dsync.PushResponse
	if code := s.call(t, "POST", "/v1/push", chen.AccessToken, dsync.PushRequest{Changes: []dsync.Change{
		create("phone-c", "r-village", "430102001002", 1), create("phone-c", "r-other-town", "430102002001", 2)}}, &pr); code != 200 {
		t.Fatalf("chen's push: %d", code)
	}

	zhou := s.login(t, "zhou", "zhou-password", "phone-z")
	if code := s.call(t, "POST", "/v1/push", zhou.AccessToken, dsync.PushRequest{Changes: []dsync.Change{
		create("phone-z", "r-new-village", "430102001009", 1)}}, &pr); code != 200 || pr.Results[0].Status != dsync.StatusApplied {
		t.Fatalf("a village of the town new to the server: %d %+v", code, pr)
	}
	if code := s.call(t, "POST", "/v1/push", zhou.AccessToken, dsync.PushRequest{Changes: []dsync.Change{
		create("phone-z", "r-x", "430102002001", 2)}}, &pr); code != 200 || pr.Results[0].Code != "out_of_scope" {
		t.Fatalf("another town: %d %+v", code, pr)
	}
	var page dsync.PullResponse
	if code := s.call(t, "GET", "/v1/pull", zhou.AccessToken, nil, &page); code != 200 {
		t.Fatalf("pull: %d", code)
	}
	got := map[string]bool{}
	for _, r := range page.Records {
		got[r.ID] = true
	}
	if len(got) != 2 || !got["r-village"] || !got["r-new-village"] {
		t.Fatalf("the town's pull: %v", got)
	}
	// Narrowed to an area: its districts. An area without records gives
	// nothing (not everything); one beyond the scope is refused.
	admin := s.login(t, "admin", "admin-pass", "")
	for _, q := range []struct {
		token, path string
		want        int
	}{
		{zhou.AccessToken, "/v1/pull?district=430102001", 2},
		{zhou.AccessToken, "/v1/pull?district=430102001009", 1},
		{admin.AccessToken, "/v1/pull?district=430102009", 0},
		{admin.AccessToken, "/v1/pull?district=4301", 3},
	} {
		page = dsync.PullResponse{}
		if code := s.call(t, "GET", q.path, q.token, nil, &page); code != 200 || len(page.Records) != q.want {
			t.Fatalf("%s: %d, %d records, want %d", q.path, code, len(page.Records), q.want)
		}
	}
	for _, path := range []string{"/v1/pull?district=430102", "/v1/pull?district=430102002"} {
		if status, code := errCode(t, s, "GET", path, zhou.AccessToken, nil); status != 403 || code != "out_of_scope" {
			t.Fatalf("%s: %d %s", path, status, code)
		}
	}
}

func TestAPI_GzipBothWaysAndBodyLimit(t *testing.T) {
	s := startServer(t)
	li := s.login(t, "li", "li-password", "phone-1")
	var chs []dsync.Change
	for i := 1; i <= 50; i++ {
		chs = append(chs, create("phone-1", fmt.Sprintf("r%d", i), "430102001001", uint64(i)))
	}
	body, _ := json.Marshal(dsync.PushRequest{Changes: chs})
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write(body)
	zw.Close()
	req, _ := http.NewRequest("POST", s.URL()+"/v1/push", &zb)
	req.Header.Set("Authorization", "Bearer "+li.AccessToken)
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip push: %d, response encoding %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	zr, _ := gzip.NewReader(resp.Body)
	var pr dsync.PushResponse
	if err := json.NewDecoder(zr).Decode(&pr); err != nil || len(pr.Results) != 50 || pr.Results[49].Status != dsync.StatusApplied {
		t.Fatalf("results: %v %+v", err, pr.Results[:1])
	}

	// A body (here: a gzip bomb's expansion) over the cap is refused with 413.
	var bomb bytes.Buffer
	zw = gzip.NewWriter(&bomb)
	zw.Write([]byte(`{"changes":[{"id":"` + strings.Repeat("x", 40<<20) + `"}]}`))
	zw.Close()
	req, _ = http.NewRequest("POST", s.URL()+"/v1/push", &bomb)
	req.Header.Set("Authorization", "Bearer "+li.AccessToken)
	req.Header.Set("Content-Encoding", "gzip")
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != 413 {
		t.Fatalf("oversized body: %d", resp2.StatusCode)
	}
}

func TestAPI_ConflictReviewScopedToCoordinator(t *testing.T) {
	s := startServer(t)
	li := s.login(t, "li", "li-password", "phone-1")
	ch := create("phone-1", "r1", "430102001001", 1)
	var pr dsync.PushResponse
	s.call(t, "POST", "/v1/push", li.AccessToken, dsync.PushRequest{Changes: []dsync.Change{ch}}, &pr)
	// Two concurrent edits of the name from the same base.
	a := dsync.Change{ID: "phone-1-2", Device: "phone-1", Counter: 2, Record: "r1", Type: "registration", District: "430102001001",
		Op: dsync.OpUpdate, Set: map[string]json.RawMessage{"name": json.RawMessage(`"李碧辉"`)}, Base: map[string]string{"name": ch.ID}}
	a.Set["name"] = json.RawMessage(`"李碧晖"`)
	b := a
	b.ID, b.Counter, b.Set = "phone-1-3", 3, map[string]json.RawMessage{"name": json.RawMessage(`"黎碧辉"`)}
	s.call(t, "POST", "/v1/push", li.AccessToken, dsync.PushRequest{Changes: []dsync.Change{a, b}}, &pr)
	if pr.Results[1].Status != dsync.StatusConflict {
		t.Fatalf("second concurrent edit: %+v", pr.Results[1])
	}
	wang := s.login(t, "wang", "wang-password", "")
	var list struct{ Conflicts []dsync.Conflict }
	s.call(t, "GET", "/v1/conflicts?status=open", wang.AccessToken, nil, &list)
	if len(list.Conflicts) != 1 || string(list.Conflicts[0].Base.Value) != `"李碧辉"` {
		t.Fatalf("conflicts: %+v", list.Conflicts)
	}
	// The registrar whose district it is can ask for its status; one of
	// another district cannot.
	var status struct{ Conflicts []dsync.Conflict }
	s.call(t, "POST", "/v1/conflicts/status", li.AccessToken, map[string]any{"ids": []string{list.Conflicts[0].ID, "nope"}}, &status)
	if len(status.Conflicts) != 1 || status.Conflicts[0].Status != dsync.ConflictOpen {
		t.Fatalf("status for the registrar: %+v", status)
	}
	accounts.Add(context.Background(), s.st, accounts.NewUser{Name: "zhao", Role: store.RoleRegistrar, Districts: []string{"430102001002"}, Password: "zhao-password"})
	zhao := s.login(t, "zhao", "zhao-password", "phone-9")
	status.Conflicts = nil
	s.call(t, "POST", "/v1/conflicts/status", zhao.AccessToken, map[string]any{"ids": []string{list.Conflicts[0].ID}}, &status)
	if len(status.Conflicts) != 0 {
		t.Fatalf("a conflict leaked to another district: %+v", status)
	}
	var resolved dsync.Conflict
	if code := s.call(t, "POST", "/v1/conflicts/"+list.Conflicts[0].ID+"/resolve", wang.AccessToken,
		map[string]any{"choice": "value", "value": "李碧辉"}, &resolved); code != 200 || resolved.Status != dsync.ConflictResolved {
		t.Fatalf("resolve: %d %+v", code, resolved)
	}
	var page dsync.PullResponse
	s.call(t, "GET", "/v1/pull", li.AccessToken, nil, &page)
	if got := string(page.Records[0].Fields["name"].Value); got != `"李碧辉"` {
		t.Fatalf("the coordinator's value must reach devices, got %s", got)
	}
}

func TestAPI_LoginThrottledAfterFailures(t *testing.T) {
	s := startServer(t)
	for i := 0; i < 5; i++ {
		if status, code := errCode(t, s, "POST", "/v1/auth/login", "", map[string]string{"username": "li", "password": "guess"}); status != 401 || code != "invalid_credentials" {
			t.Fatalf("attempt %d: %d %s", i, status, code)
		}
	}
	// Locked now, even with the right password; other accounts are not.
	if status, code := errCode(t, s, "POST", "/v1/auth/login", "", map[string]string{"username": "LI", "password": "li-password"}); status != 429 || code != "too_many_attempts" {
		t.Fatalf("after five failures: %d %s", status, code)
	}
	s.login(t, "wang", "wang-password", "")
}

// A device's pull leaves out its own changes applied to a state it held,
// and only those; the compact encoding decodes to the same records.
func TestAPI_PullLeavesOutOwnChanges(t *testing.T) {
	s := startServer(t)
	li := s.login(t, "li", "li-password", "phone-1")
	wang := s.login(t, "wang", "wang-password", "phone-w")
	pull := func(tk string, cursor uint64) dsync.PullResponse {
		t.Helper()
		var page dsync.PullResponse
		// held: the device still holds every change it sent (1,000 is
		// above any counter here).
		if code := s.call(t, "GET", fmt.Sprintf("/v1/pull?cursor=%d&held=1000", cursor), tk, nil, &page); code != 200 {
			t.Fatalf("pull: %d", code)
		}
		return page
	}
	push := func(tk string, cursor uint64, ch dsync.Change) {
		t.Helper()
		var pr dsync.PushResponse
		if code := s.call(t, "POST", fmt.Sprintf("/v1/push?cursor=%d", cursor), tk,
			dsync.PushRequest{Changes: []dsync.Change{ch}}, &pr); code != 200 || pr.Results[0].Status != dsync.StatusApplied {
			t.Fatalf("push: %d %+v", code, pr)
		}
	}
	up := func(dev string, n uint64, base string) dsync.Change {
		ch := create(dev, "r1", "430102001001", n)
		ch.Op, ch.Set = dsync.OpUpdate, map[string]json.RawMessage{"voter_group": json.RawMessage(fmt.Sprintf(`"第%d选民小组"`, n))}
		ch.Base = map[string]string{"voter_group": base, dsync.FieldDeleted: ""}
		return ch
	}
	push(li.AccessToken, 0, create("phone-1", "r1", "430102001001", 1)) // seq 1
	if p := pull(li.AccessToken, 0); len(p.Records) != 0 || p.Cursor != 1 {
		t.Fatalf("li's own create came back: %+v", p)
	}
	// A device that does not hold its change (a file restored from an
	// older copy: held below the change's counter) gets it back.
	var restored dsync.PullResponse
	if code := s.call(t, "GET", "/v1/pull?cursor=0&held=0", li.AccessToken, nil, &restored); code != 200 || len(restored.Records) != 1 {
		t.Fatalf("li's own create with held=0: %d %+v", code, restored)
	}
	push(wang.AccessToken, 0, up("phone-w", 1, "")) // seq 2
	// li, at cursor 1, edits the record as seq 1 left it: seq 3 is applied
	// to seq 2's state, which li did not hold; it must be sent.
	push(li.AccessToken, 1, up("phone-1", 2, "phone-w-1"))
	if p := pull(li.AccessToken, 1); len(p.Records) != 1 || p.Cursor != 3 {
		t.Fatalf("li's edit on a state it did not hold: %+v", p)
	}
	push(li.AccessToken, 3, up("phone-1", 3, "phone-1-2")) // seq 4, on seq 3, which li holds
	push(li.AccessToken, 3, up("phone-1", 4, "phone-1-3")) // seq 5, on li's own folded seq 4
	if p := pull(li.AccessToken, 3); len(p.Records) != 0 || p.Cursor != 5 {
		t.Fatalf("li's edits on what it held came back: %+v", p)
	}
	// A push without a cursor: nothing is known of what the device holds.
	pushAs(t, s, li.AccessToken, up("phone-1", 5, "phone-1-4"))
	if p := pull(li.AccessToken, 5); len(p.Records) != 1 {
		t.Fatalf("an edit pushed without a cursor: %+v", p)
	}
	// Compact: the same record as the plain encoding.
	var plain dsync.PullResponse
	s.call(t, "GET", "/v1/pull", wang.AccessToken, nil, &plain)
	var compact struct {
		Records []json.RawMessage `json:"records"`
	}
	s.call(t, "GET", "/v1/pull?format=c1", wang.AccessToken, nil, &compact)
	if len(plain.Records) != 1 || len(compact.Records) != 1 {
		t.Fatalf("wang's pulls: %d and %d records", len(plain.Records), len(compact.Records))
	}
	got, err := dsync.DecodeCompact(compact.Records[0])
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(plain.Records[0])
	if !bytes.Equal(a, b) {
		t.Fatalf("compact decodes to\n%s\nplain is\n%s", a, b)
	}
}
