package api_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/dengji/dengji/server/audit"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore"
)

// startServerIn is startServer over a store in dir, which the test closes
// itself (to open the file behind the store's back).
func startServerIn(t *testing.T, dir string) *testServer {
	t.Helper()
	st, err := boltstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return startServerOn(t, st, nil)
}

type auditBody struct {
	Entries []audit.Entry `json:"entries"`
	Next    uint64        `json:"next"`
}

// auditLog reads the whole log through the API, a page of 7 at a time.
func (s *testServer) auditLog(t *testing.T, token string) ([]audit.Entry, []byte) {
	t.Helper()
	var all []audit.Entry
	var raw []byte
	for after := uint64(0); ; {
		code, body := s.send(t, "GET", "/v1/admin/audit?limit=7&after="+itoa(after), token, "", nil)
		var page auditBody
		if code != 200 || json.Unmarshal(body, &page) != nil {
			t.Fatalf("audit page after %d: %d %s", after, code, body)
		}
		raw = append(raw, body...)
		all = append(all, page.Entries...)
		if page.Next == 0 {
			return all, raw
		}
		after = page.Next
	}
}

func itoa(n uint64) string { b, _ := json.Marshal(n); return string(b) }

// TestAudit_RealEvents: sign-in failures, account and device changes, an
// import of a roll, exports, a conflict resolution and a duplicate decision
// through the real server each leave one entry, by the right actor; the
// chain verifies; no name, ID number, phone or address of the roll, nor a
// value of the conflict, nor an unknown user name tried, is in any entry;
// an entry changed in the file is named by Verify.
func TestAudit_RealEvents(t *testing.T) {
	dir := t.TempDir()
	s := startServerIn(t, dir)
	recs, _, pairB := dupRoll()
	pushRoll(t, s.st, recs)
	admin := s.login(t, "admin", "admin-pass", "")
	wang := s.login(t, "wang", "wang-password", "tab-wang")
	li := s.login(t, "li", "li-password", "phone-1")

	// Failed sign-ins: a wrong password, and a user that does not exist
	// under a person's name.
	for _, up := range [][2]string{{"li", "not-the-password"}, {"张伟", "whatever-it-is"}} {
		if code, _ := errCode(t, s, "POST", "/v1/auth/login", "", map[string]string{"username": up[0], "password": up[1]}); code != 401 {
			t.Fatalf("sign-in %s: %d", up[0], code)
		}
	}
	// Accounts.
	for _, r := range []struct {
		path string
		body any
	}{
		{"/v1/users", map[string]any{"name": "zhao", "role": "registrar", "districts": []string{"430102001002"}}},
		{"/v1/users/zhao/disable", nil},
		{"/v1/users/zhao/enable", nil},
		{"/v1/users/zhao/password", nil},
		{"/v1/users/li/unlock", nil},
	} {
		if code := s.call(t, "POST", r.path, admin.AccessToken, r.body, nil); code/100 != 2 {
			t.Fatalf("%s: %d", r.path, code)
		}
	}
	// An import with names, ID numbers and phones.
	code, body := s.send(t, "POST", "/v1/admin/import/districts?format=csv", admin.AccessToken, "text/csv",
		strings.NewReader("430102001001,水塘垸村,村,430102001\n430102001002,黄花社区,社区,430102001\n"))
	if code != 200 {
		t.Fatalf("districts: %d %s", code, body)
	}
	ids := []string{rollID(t, "430102", "19900102", 11), rollID(t, "110105", "19800101", 22)}
	personal := []string{"李碧辉", "杨倩", ids[0], ids[1], "13800138000", "13912345678", "长沙市芙蓉区五一大道1号", "张伟",
		"李碧晖", "黎碧辉", "李必辉"}
	csvText := "姓名,性别,出生日期,身份证号,联系电话,户籍地址,选区,选民小组\n" +
		"李碧辉,男,1990-01-02," + ids[0] + ",13800138000,长沙市芙蓉区五一大道1号,430102001001,1\n" +
		"杨倩,女,1980-01-01," + ids[1] + ",13912345678,,430102001002,1\n"
	if code, body := s.send(t, "POST", "/v1/admin/import/registrations", admin.AccessToken, "text/csv", strings.NewReader(csvText)); code != 200 {
		t.Fatalf("import: %d %s", code, body)
	}
	for _, r := range recs {
		personal = append(personal, r.Name, r.IDNumber, r.Phone, r.HouseholdAddress, r.ResidenceAddress)
	}
	// Exports: the office roll and the verification list are recorded, the
	// posted roll is not.
	for _, path := range []string{"/v1/export/roll?district=430102001001", "/v1/export/roll?district=430102001001&posted=1",
		"/v1/verification?district=430102001001"} {
		if code, body := s.send(t, "GET", path, wang.AccessToken, "", nil); code != 200 {
			t.Fatalf("%s: %d %s", path, code, body)
		}
	}
	// A conflict resolved with a value of the coordinator's.
	conflict := makeConflict(t, s, li.AccessToken)
	if code := s.call(t, "POST", "/v1/conflicts/"+conflict+"/resolve", wang.AccessToken,
		map[string]any{"choice": "value", "value": "李必辉"}, nil); code != 200 {
		t.Fatalf("resolve: %d", code)
	}
	// A duplicate decided.
	if code := s.call(t, "POST", "/v1/admin/dedup", admin.AccessToken, nil, nil); code != 202 {
		t.Fatalf("dedup: %d", code)
	}
	waitDedup(t, s, admin.AccessToken)
	var list duplicatesBody
	s.call(t, "GET", "/v1/duplicates?status=open&district=430102001002", wang.AccessToken, nil, &list)
	caseB := ""
	for _, c := range list.Cases {
		for _, m := range c.Members {
			if m.Record == pairB[0] {
				caseB = c.ID
			}
		}
	}
	if caseB == "" {
		t.Fatalf("no case for %v: %+v", pairB, list)
	}
	if code := s.call(t, "POST", "/v1/duplicates/"+caseB+"/decide", wang.AccessToken,
		map[string]any{"decision": "confirmed", "keep": pairB[1], "remove": true}, nil); code != 200 {
		t.Fatalf("decide: %d", code)
	}
	// A refresh token presented a third time; the phone revoked.
	refresh(t, s, li.RefreshToken)
	refresh(t, s, li.RefreshToken) // within the grace: the same pair
	if code, _ := refresh(t, s, li.RefreshToken); code != 401 {
		t.Fatalf("reuse: %d", code)
	}
	if code := s.call(t, "POST", "/v1/me/password", li.AccessToken,
		map[string]string{"old": "li-password", "new": "li-new-password-1"}, nil); code != 200 {
		t.Fatalf("password change: %d", code)
	}
	if code := s.call(t, "POST", "/v1/devices/phone-1/revoke", admin.AccessToken, nil, nil); code != 204 {
		t.Fatalf("revoke: %d", code)
	}

	if code, ecode := errCode(t, s, "GET", "/v1/admin/audit", wang.AccessToken, nil); code != 403 || ecode != "forbidden" {
		t.Fatalf("coordinator lists the log: %d %s", code, ecode)
	}
	if code, ecode := errCode(t, s, "GET", "/v1/admin/audit?limit=0", admin.AccessToken, nil); code != 400 || ecode != "bad_request" {
		t.Fatalf("limit 0: %d %s", code, ecode)
	}
	entries, raw := s.auditLog(t, admin.AccessToken)

	type seen struct {
		actor, device string
		action        audit.Action
		target        string
	}
	want := []seen{
		{"system", "", audit.UserCreated, "admin"},
		{"system", "", audit.UserCreated, "li"},
		{"system", "", audit.UserCreated, "wang"},
		{"anonymous", "", audit.SignInFailed, "li"},
		{"anonymous", "", audit.SignInFailed, ""},
		{"admin", "", audit.UserCreated, "zhao"},
		{"admin", "", audit.UserDisabled, "zhao"},
		{"admin", "", audit.UserEnabled, "zhao"},
		{"admin", "", audit.PasswordReset, "zhao"},
		{"admin", "", audit.AccountUnlocked, "zhao"},
		{"admin", "", audit.AccountUnlocked, "li"},
		{"admin", "", audit.Import, ""},
		{"admin", "", audit.Import, ""},
		{"wang", "tab-wang", audit.ExportUnmasked, "430102001001"},
		{"wang", "tab-wang", audit.ExportUnmasked, "430102001001"},
		{"wang", "tab-wang", audit.ConflictResolved, conflict},
		{"wang", "tab-wang", audit.DuplicateDecided, caseB},
		{"anonymous", "", audit.RefreshReused, "li"},
		{"li", "phone-1", audit.PasswordChanged, "li"},
		{"admin", "", audit.DeviceRevoked, "phone-1"},
	}
	var got []seen
	for i, e := range entries {
		if e.Seq != uint64(i+1) {
			t.Fatalf("entry %d has seq %d", i+1, e.Seq)
		}
		got = append(got, seen{e.Actor, e.Device, e.Action, e.Target})
	}
	if !slices.Equal(got, want) {
		t.Fatalf("entries:\n got %v\nwant %v", got, want)
	}
	details := func(i int) map[string]any {
		var d map[string]any
		json.Unmarshal(entries[i].Details, &d)
		return d
	}
	if d := details(12); d["kind"] != "registrations" || d["imported"] != 2.0 || d["format"] != "csv" {
		t.Errorf("import details: %v", d)
	}
	if d := details(15); d["choice"] != "value" || d["field"] != "name" || d["record"] != "r-c" {
		t.Errorf("resolution details: %v", d)
	}
	if d := details(16); d["status"] != "confirmed" || d["keep"] != pairB[1] || d["remove"] != true {
		t.Errorf("decision details: %v", d)
	}
	if !strings.Contains(string(raw), caseB) || !strings.Contains(string(raw), `"actor":"wang"`) {
		t.Fatalf("not the entries' JSON: %s", raw)
	}
	for _, p := range personal {
		if len([]rune(p)) >= 2 && strings.Contains(string(raw), p) {
			t.Errorf("the audit log holds personal data %q", p)
		}
	}
	var res *audit.Result
	err := s.st.View(context.Background(), func(tx store.Tx) error {
		var err error
		res, err = audit.Verify(context.Background(), tx)
		return err
	})
	if err != nil || res.Broken != nil || res.Entries != uint64(len(want)) {
		t.Fatalf("verify: %+v %v", res, err)
	}

	// Nothing the server does changes an entry, so the test does it as
	// someone with the data file would: the resolution's choice rewritten
	// in the bbolt bucket "audit" (boltstore's schema).
	s.Close()
	s.st.Close()
	db, err := bolt.Open(filepath.Join(dir, boltstore.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		k := binary.BigEndian.AppendUint64(nil, entries[15].Seq)
		b := tx.Bucket([]byte("audit"))
		return b.Put(k, []byte(strings.Replace(string(b.Get(k)), `"choice":"value"`, `"choice":"kept"`, 1)))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	st, err := boltstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.View(context.Background(), func(tx store.Tx) error {
		var err error
		res, err = audit.Verify(context.Background(), tx)
		return err
	})
	if err != nil || res.Broken == nil || res.Broken.Seq != entries[15].Seq || res.Broken.Problem != audit.ProblemHash ||
		res.Entries != entries[15].Seq-1 {
		t.Fatalf("verify after tampering: %+v %+v %v", res, res.Broken, err)
	}
}
