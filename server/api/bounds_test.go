package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// Regression tests for issue #9, defects 2, 9 and 10, against the real
// server on a real listener.

func pushAs(t *testing.T, s *testServer, token string, chs ...dsync.Change) (int, dsync.PushResponse) {
	t.Helper()
	var pr dsync.PushResponse
	code := s.call(t, "POST", "/v1/push", token, dsync.PushRequest{Changes: chs}, &pr)
	return code, pr
}

func addUser(t *testing.T, s *testServer, name string, role store.Role, districts ...string) {
	t.Helper()
	if _, err := accounts.Add(context.Background(), s.st, accounts.NewUser{Name: name, Role: role,
		Districts: districts, Password: name + "-password"}); err != nil {
		t.Fatal(err)
	}
}

func nowHLC() dsync.HLC { return dsync.MakeHLC(time.Now().UnixMilli(), 0) }

// Defect 2: a change ID another device sent is refused without a word of
// its stored result; the device that sent it still gets its duplicate.
func TestBounds_ChangeIDOfAnotherDevice(t *testing.T) {
	s := startServer(t)
	addUser(t, s, "zhao", store.RoleRegistrar, "430104001001")
	li := s.login(t, "li", "li-password", "phone-1")
	zhao := s.login(t, "zhao", "zhao-password", "phone-9")
	mine := create("phone-1", "r1", "430102001001", 1)
	mine.Set["phone"] = json.RawMessage(`"13800000000"`)
	if code, pr := pushAs(t, s, li.AccessToken, mine); code != 200 || pr.Results[0].Status != dsync.StatusApplied {
		t.Fatalf("li's push: %d %+v", code, pr)
	}
	theirs := create("phone-9", "r9", "430104001001", 1)
	theirs.ID = mine.ID
	code, pr := pushAs(t, s, zhao.AccessToken, theirs)
	if code != 200 || len(pr.Results) != 1 {
		t.Fatalf("zhao's push: %d %+v", code, pr)
	}
	r := pr.Results[0]
	if r.Status != dsync.StatusRejected || r.Code != dsync.CodeChangeIDTaken || r.Seq != 0 || r.Conflicts != nil || r.Details != nil {
		t.Fatalf("another device's change ID: %+v", r)
	}
	b, _ := json.Marshal(pr)
	for _, leak := range []string{"13800000000", "李碧辉", `"r1"`, `"li"`, `"seq"`} {
		if strings.Contains(string(b), leak) {
			t.Fatalf("the answer shows %s: %s", leak, b)
		}
	}
	// Refused, not remembered: the ID is still li's.
	if _, pr := pushAs(t, s, li.AccessToken, mine); pr.Results[0].Status != dsync.StatusDuplicate || pr.Results[0].Device != "" {
		t.Fatalf("li's retry: %+v", pr.Results[0])
	}
	// A change naming another device is refused and not remembered either,
	// so it cannot squat an ID.
	squat := create("phone-1", "r2", "430104001001", 2)
	if _, pr := pushAs(t, s, zhao.AccessToken, squat); pr.Results[0].Code != dsync.CodeWrongDevice {
		t.Fatalf("a change of another device: %+v", pr.Results[0])
	}
	squat.District = "430102001001"
	if _, pr := pushAs(t, s, li.AccessToken, squat); pr.Results[0].Status != dsync.StatusApplied {
		t.Fatalf("the ID after a wrong_device refusal: %+v", pr.Results[0])
	}
}

// Defect 9: timestamps within a bounded skew of the server's clock, and HLC
// arithmetic that saturates instead of wrapping.
func TestBounds_ClockSkew(t *testing.T) {
	s := startServer(t)
	li := s.login(t, "li", "li-password", "phone-1")
	for _, h := range []dsync.HLC{dsync.MakeHLC(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), 0),
		dsync.MaxHLC, dsync.MakeHLC(time.Now().Add(25*time.Hour).UnixMilli(), 0)} {
		ok := create("phone-1", "r-ok", "430102001001", 1)
		ok.HLC = nowHLC()
		ahead := create("phone-1", "r-ahead", "430102001001", 2)
		ahead.HLC = h
		var eb dsync.ErrorBody
		before := time.Now().UnixMilli()
		code := s.call(t, "POST", "/v1/push", li.AccessToken, dsync.PushRequest{Changes: []dsync.Change{ok, ahead}}, &eb)
		var cs dsync.ClockSkew
		if code != 400 || eb.Error.Code != dsync.CodeClockSkew || json.Unmarshal(eb.Error.Details, &cs) != nil {
			t.Fatalf("hlc %d: %d %+v", h, code, eb)
		}
		if cs.ServerTime < before || cs.ServerTime > time.Now().UnixMilli() || cs.Change != ahead.ID ||
			cs.MaxAhead != dsync.MaxClockAhead.Milliseconds() {
			t.Fatalf("details %+v", cs)
		}
	}
	var page dsync.PullResponse
	s.call(t, "GET", "/v1/pull", li.AccessToken, nil, &page)
	if len(page.Records) != 0 {
		t.Fatalf("a refused batch stored %d records", len(page.Records))
	}
	// Within the bound, and long past (a device offline for weeks): taken.
	soon, old := create("phone-1", "r-soon", "430102001001", 1), create("phone-1", "r-old", "430102001001", 2)
	soon.HLC, old.HLC = dsync.MakeHLC(time.Now().Add(23*time.Hour).UnixMilli(), 0), dsync.MakeHLC(0, 5)
	if code, pr := pushAs(t, s, li.AccessToken, soon, old); code != 200 || pr.Results[0].Status != dsync.StatusApplied ||
		pr.Results[1].Status != dsync.StatusApplied {
		t.Fatalf("timestamps within the bound: %d %+v", code, pr)
	}

	if dsync.MaxHLC.Next() != dsync.MaxHLC || dsync.MakeHLC(math.MaxInt64, 0).Millis() != dsync.MaxMillis ||
		dsync.MakeHLC(-1, 0) != 0 {
		t.Fatal("HLC arithmetic wraps")
	}
	c := dsync.NewClock(0)
	c.Observe(dsync.MaxHLC)
	if h := c.Tick(); h != dsync.MaxHLC {
		t.Fatalf("a clock at the end ticks to %d", h)
	}
}

// Defect 9: cursors, limits and repeated parameters.
func TestBounds_PullParameters(t *testing.T) {
	s := startServer(t)
	li := s.login(t, "li", "li-password", "phone-1")
	pushAs(t, s, li.AccessToken, create("phone-1", "r1", "430102001001", 1), create("phone-1", "r2", "430102001001", 2))
	// Read by another than the device that pushed, which would not be sent
	// its own changes back.
	li = s.login(t, "wang", "wang-password", "")
	for _, tc := range []struct {
		query string
		want  int
	}{
		{fmt.Sprintf("cursor=%d", uint64(math.MaxUint64)), 0},
		{"cursor=1000", 0},
		{"cursor=1", 1},
		{"district=430102001001&district=430102001001", 2},
		{"district=430102001001&district=430102001001&district=430102001001", 2},
	} {
		var page dsync.PullResponse
		if code := s.call(t, "GET", "/v1/pull?"+tc.query, li.AccessToken, nil, &page); code != 200 ||
			len(page.Records) != tc.want || page.More {
			t.Fatalf("%s: %d, %d records, more %v; want %d", tc.query, code, len(page.Records), page.More, tc.want)
		}
		if page.Cursor > 2 {
			t.Fatalf("%s: cursor %d beyond the feed", tc.query, page.Cursor)
		}
	}
	for _, q := range []string{"cursor=-1", "cursor=18446744073709551616", "limit=0", "limit=-5",
		fmt.Sprintf("limit=%d", dsync.MaxPullPage+1), "limit=99999999999999999999",
		"district=" + strings.Repeat("4", 200), "district="} {
		if status, code := errCode(t, s, "GET", "/v1/pull?"+q, li.AccessToken, nil); status != 400 || code != "bad_request" {
			t.Fatalf("%s: %d %s", q, status, code)
		}
	}
	wang := s.login(t, "wang", "wang-password", "")
	for _, q := range []string{"/v1/conflicts?status=bogus", "/v1/duplicates?status=bogus", "/v1/conflicts?limit=1001",
		"/v1/conflicts?after=" + strings.Repeat("x", 200)} {
		if status, code := errCode(t, s, "GET", q, wang.AccessToken, nil); status != 400 || code != "bad_request" {
			t.Fatalf("%s: %d %s", q, status, code)
		}
	}
}

// Defect 9: counters, IDs repeated in a batch, trailing data, and the
// coordinator's operation.
func TestBounds_PushChanges(t *testing.T) {
	s := startServer(t)
	li := s.login(t, "li", "li-password", "phone-1")
	zero := create("phone-1", "r0", "430102001001", 0)
	huge := create("phone-1", "r-max", "430102001001", math.MaxUint64)
	far := create("phone-1", "r-far", "430102001001", 1_000_002)
	one := create("phone-1", "r1", "430102001001", 1)
	again := create("phone-1", "r-again", "430102001001", 2)
	again.ID = one.ID
	code, pr := pushAs(t, s, li.AccessToken, zero, huge, far, one, again)
	if code != 200 {
		t.Fatalf("push: %d", code)
	}
	want := []struct {
		status dsync.Status
		code   string
	}{
		{dsync.StatusRejected, dsync.CodeInvalidChange}, {dsync.StatusRejected, dsync.CodeInvalidChange},
		{dsync.StatusRejected, dsync.CodeInvalidChange}, {dsync.StatusApplied, ""},
		{dsync.StatusRejected, dsync.CodeInvalidChange},
	}
	for i, w := range want {
		if r := pr.Results[i]; r.Status != w.status || r.Code != w.code {
			t.Fatalf("change %d: %+v, want %s %s", i, r, w.status, w.code)
		}
	}
	// The huge counter did not block the device: it counts on.
	if _, pr := pushAs(t, s, li.AccessToken, create("phone-1", "r3", "430102001001", 3)); pr.Results[0].Status != dsync.StatusApplied {
		t.Fatalf("the next counter: %+v", pr.Results[0])
	}

	// Anything after the JSON body, on the fast path's shape or off it.
	for _, body := range []string{
		`{"changes":[]} x`,
		`{"changes":[]}{"changes":[]}`,
		`{"changes":[{"id":"\u0031","device":"phone-1","n":9,"record":"r9","type":"registration","district":"430102001001","op":"create","set":{"name":"x"}}]} []`,
	} {
		if code, b := s.send(t, "POST", "/v1/push", li.AccessToken, "application/json", strings.NewReader(body)); code != 400 ||
			!bytes.Contains(b, []byte(`"bad_request"`)) {
			t.Fatalf("%s: %d %s", body, code, b)
		}
	}
	// Millions of empty changes are refused before they are decoded.
	bomb := `{"changes":[` + strings.Repeat(`{},`, 1<<20) + `{}]}`
	if code, _ := s.send(t, "POST", "/v1/push", li.AccessToken, "application/json", strings.NewReader(bomb)); code != 413 {
		t.Fatalf("a million empty changes: %d", code)
	}

	// A restore is a coordinator's decision: refused one by one to a
	// registrar, taken from a coordinator's device.
	del := dsync.Change{ID: "phone-1-del", Device: "phone-1", Counter: 4, Record: "r1", Type: "registration",
		District: "430102001001", Op: dsync.OpDelete, Set: map[string]json.RawMessage{dsync.FieldDeleted: json.RawMessage(`true`)},
		Base: map[string]string{"name": one.ID, dsync.FieldDeleted: ""}}
	restore := dsync.Change{ID: "phone-1-restore", Device: "phone-1", Counter: 5, Record: "r1", Type: "registration",
		District: "430102001001", Op: dsync.OpRestore, Set: map[string]json.RawMessage{dsync.FieldDeleted: json.RawMessage(`false`)},
		Base: map[string]string{dsync.FieldDeleted: del.ID}}
	next := create("phone-1", "r6", "430102001001", 6)
	_, pr = pushAs(t, s, li.AccessToken, del, restore, next)
	if pr.Results[0].Status != dsync.StatusApplied || pr.Results[1].Code != dsync.CodeForbiddenOp ||
		pr.Results[2].Status != dsync.StatusApplied {
		t.Fatalf("a registrar's restore: %+v", pr.Results)
	}
	wang := s.login(t, "wang", "wang-password", "tab-w")
	restore.ID, restore.Device, restore.Counter = "tab-w-restore", "tab-w", 1
	if _, pr := pushAs(t, s, wang.AccessToken, restore); pr.Results[0].Status != dsync.StatusApplied {
		t.Fatalf("a coordinator's restore: %+v", pr.Results[0])
	}
}

// Defect 10: a record, a conflict or a duplicate case outside the caller's
// districts answers exactly as one that does not exist.
func TestBounds_NoLeakByDifference(t *testing.T) {
	s := startServer(t)
	addUser(t, s, "zhao", store.RoleRegistrar, "430104001001")
	li := s.login(t, "li", "li-password", "phone-1")
	zhao := s.login(t, "zhao", "zhao-password", "phone-9")
	if _, pr := pushAs(t, s, zhao.AccessToken, create("phone-9", "r-theirs", "430104001001", 1)); pr.Results[0].Status != dsync.StatusApplied {
		t.Fatalf("zhao's create: %+v", pr.Results[0])
	}
	upd := func(id, record string, n uint64) dsync.Change {
		return dsync.Change{ID: id, Device: "phone-1", Counter: n, Record: record, Type: "registration",
			District: "430102001001", Op: dsync.OpUpdate, Set: map[string]json.RawMessage{"name": json.RawMessage(`"x"`)},
			Base: map[string]string{"name": "", dsync.FieldDeleted: ""}}
	}
	_, pr := pushAs(t, s, li.AccessToken, upd("u1", "r-theirs", 1), upd("u2", "r-nobody", 2))
	a, b := pr.Results[0], pr.Results[1]
	if a.Code != dsync.CodeUnknownRecord || b.Code != dsync.CodeUnknownRecord ||
		strings.ReplaceAll(a.Reason, "r-theirs", "") != strings.ReplaceAll(b.Reason, "r-nobody", "") {
		t.Fatalf("out of scope %+v, unknown %+v", a, b)
	}
	// A conflict of another district: not found, like one that is not.
	addUser(t, s, "sun", store.RoleCoordinator, "430104001001")
	sun := s.login(t, "sun", "sun-password", "")
	s1, c1 := errCode(t, s, "POST", "/v1/conflicts/nope/resolve", sun.AccessToken, map[string]string{"choice": "kept"})
	conflictID := makeConflict(t, s, li.AccessToken)
	s2, c2 := errCode(t, s, "POST", "/v1/conflicts/"+conflictID+"/resolve", sun.AccessToken, map[string]string{"choice": "kept"})
	if s1 != 404 || c1 != "not_found" || s2 != s1 || c2 != c1 {
		t.Fatalf("unknown conflict %d %s, another district's %d %s", s1, c1, s2, c2)
	}
}

// makeConflict makes two concurrent edits of r-c's name from li's device
// and returns the conflict's ID.
func makeConflict(t *testing.T, s *testServer, token string) string {
	t.Helper()
	ch := create("phone-1", "r-c", "430102001001", 10)
	pushAs(t, s, token, ch)
	a := dsync.Change{ID: "phone-1-11", Device: "phone-1", Counter: 11, Record: "r-c", Type: "registration",
		District: "430102001001", Op: dsync.OpUpdate, Set: map[string]json.RawMessage{"name": json.RawMessage(`"李碧晖"`)},
		Base: map[string]string{"name": ch.ID}}
	b := a
	b.ID, b.Counter, b.Set = "phone-1-12", 12, map[string]json.RawMessage{"name": json.RawMessage(`"黎碧辉"`)}
	_, pr := pushAs(t, s, token, a, b)
	if len(pr.Results) != 2 || len(pr.Results[1].Conflicts) != 1 {
		t.Fatalf("no conflict: %+v", pr)
	}
	return pr.Results[1].Conflicts[0].ID
}

// Defect 10: a duplicate case shows a member outside the caller's districts
// by record ID and district only, its links without their evidence; a case
// with no member in scope is not found, like one that does not exist.
func TestBounds_DuplicateCaseOutOfScope(t *testing.T) {
	s := startServer(t)
	recs, pairA, pairB := dupRoll()
	pushRoll(t, s.st, recs)
	addUser(t, s, "sun", store.RoleCoordinator, "430104001001")
	admin := s.login(t, "admin", "admin-pass", "")
	wang := s.login(t, "wang", "wang-password", "")
	sun := s.login(t, "sun", "sun-password", "")
	if code := s.call(t, "POST", "/v1/admin/dedup", admin.AccessToken, nil, nil); code != 202 {
		t.Fatalf("start: %d", code)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var st struct {
			Running bool            `json:"running"`
			Last    json.RawMessage `json:"last"`
		}
		s.call(t, "GET", "/v1/admin/dedup", admin.AccessToken, nil, &st)
		if !st.Running && len(st.Last) > 0 && string(st.Last) != "null" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the run did not finish")
		}
	}
	var list struct {
		Cases []struct {
			ID      string `json:"id"`
			Members []struct {
				Record       string          `json:"record"`
				Registration json.RawMessage `json:"registration"`
			} `json:"members"`
			Evidence []map[string]json.RawMessage `json:"evidence"`
		} `json:"cases"`
	}
	if code := s.call(t, "GET", "/v1/duplicates", wang.AccessToken, nil, &list); code != 200 {
		t.Fatalf("list: %d", code)
	}
	seen := map[string]string{}
	for _, c := range list.Cases {
		for _, l := range c.Evidence {
			var a, b string
			json.Unmarshal(l["a"], &a)
			json.Unmarshal(l["b"], &b)
			outside := a == pairA[1] || b == pairA[1]
			if _, has := l["evidence"]; has == outside {
				t.Fatalf("case %s link %s-%s: evidence shown %v, member outside %v", c.ID, a, b, has, outside)
			}
			seen[a], seen[b] = c.ID, c.ID
		}
		for _, m := range c.Members {
			if m.Record == pairA[1] && len(m.Registration) > 0 {
				t.Fatalf("the member outside shows its registration: %s", m.Registration)
			}
		}
	}
	caseA, caseB := seen[pairA[1]], seen[pairB[1]]
	if caseA == "" || caseB == "" || seen[pairA[0]] != caseA {
		t.Fatalf("cases: %v", seen)
	}
	body := map[string]string{"decision": "rejected"}
	s1, c1 := errCode(t, s, "POST", "/v1/duplicates/nope/decide", sun.AccessToken, body)
	s2, c2 := errCode(t, s, "POST", "/v1/duplicates/"+caseB+"/decide", sun.AccessToken, body)
	s3, c3 := errCode(t, s, "POST", "/v1/duplicates/"+caseA+"/decide", sun.AccessToken, body)
	if s1 != 404 || c1 != "not_found" || s2 != s1 || c2 != c1 || s3 != 403 || c3 != "out_of_scope" {
		t.Fatalf("unknown case %d %s, case with no member in scope %d %s, with one %d %s", s1, c1, s2, c2, s3, c3)
	}
}
