package console_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/model/idcard"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// A registration without an ID number is on the verification list; the
// coordinator types the ID, the record is corrected (a server change the
// phone receives) and leaves the list. Another county's coordinator can
// neither see nor correct it.
func TestConsole_VerificationCorrectsID(t *testing.T) {
	e := startEnv(t)
	d := e.device(t, "li")
	f := registration(9, "黄金")
	id := string(f["id_number"])
	delete(f, "id_number")
	rec, err := d.Create(model.TypeRegistration, distA1, f)
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, d)
	wu, zhou := e.client(t), e.client(t)
	wu.signIn(t, "wu", "wu-password-1")
	zhou.signIn(t, "zhou", "zhou-password-1")
	if _, page, _ := zhou.get(t, "/console/verification"); strings.Contains(page, "黄金") {
		t.Fatal("another county's coordinator sees the registration")
	}
	_, page, token := wu.get(t, "/console/verification")
	if !strings.Contains(page, "黄金") || !strings.Contains(page, "/console/verification/"+rec) {
		t.Fatalf("the list lacks the registration without an ID number")
	}
	var want string
	json.Unmarshal([]byte(id), &want)
	_, _, ztoken := zhou.get(t, "/console/verification")
	if resp := zhou.post(t, "/console/verification/"+rec, url.Values{"csrf": {ztoken}, "id_number": {want}}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("another county's correction: %d, want 404", resp.StatusCode)
	}
	if resp := wu.post(t, "/console/verification/"+rec, url.Values{"csrf": {token}, "id_number": {""}}); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("an empty ID number: %d, want 400", resp.StatusCode)
	}
	typed := strings.ToLower(want[:6]) + " " + want[6:] // as a person types it: a space, maybe a lower-case x
	if resp := wu.post(t, "/console/verification/"+rec, url.Values{"csrf": {token}, "id_number": {typed}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the correction: %d", resp.StatusCode)
	}
	if _, page, _ := wu.get(t, "/console/verification"); strings.Contains(page, "黄金") {
		t.Fatal("a corrected registration stays on the list")
	}
	mustSync(t, d)
	got, _ := d.Get(rec)
	if string(got.Fields["id_number"].Value) != `"`+idcard.Normalize(want)+`"` {
		t.Fatalf("the phone's record: %s", got.Fields["id_number"].Value)
	}
}

// A coordinator reopens a resolved conflict with a reason; without one it
// is refused; the reason is in the audit log.
func TestConsole_ReopenConflict(t *testing.T) {
	e := startEnv(t)
	_, cf, _ := e.conflictOnVoterGroup(t, "王雄")
	wu := e.client(t)
	wu.signIn(t, "wu", "wu-password-1")
	_, _, token := wu.get(t, "/console/conflicts/"+cf.ID)
	if resp := wu.post(t, "/console/conflicts/"+cf.ID+"/resolve", url.Values{"csrf": {token}, "choice": {"value"}, "value": {"第8选民小组"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("resolve with a typed value: %d", resp.StatusCode)
	}
	if resp := wu.post(t, "/console/conflicts/"+cf.ID+"/reopen", url.Values{"csrf": {token}}); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("reopen without a reason: %d, want 400", resp.StatusCode)
	}
	if resp := wu.post(t, "/console/conflicts/"+cf.ID+"/reopen", url.Values{"csrf": {token}, "reason": {"填错了小组"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("reopen: %d", resp.StatusCode)
	}
	var got *dsync.Conflict
	e.st.View(ctx, func(tx store.Tx) error { got, _ = tx.Conflict(cf.ID); return nil })
	if got.Status != dsync.ConflictOpen || !e.audited(t, "conflict_reopened", "填错了小组") {
		t.Fatalf("reopened conflict %+v, or no audit entry with the reason", got)
	}
}

// An admin edits a user's role, scope and name, and an invalid scope is
// refused with the field named.
func TestConsole_EditUser(t *testing.T) {
	e := startEnv(t)
	admin := e.client(t)
	admin.signIn(t, "admin", adminPassword)
	_, _, token := admin.get(t, "/console/admin/users")
	form := url.Values{"csrf": {token}, "role": {"coordinator"}, "districts": {"430102001, 430102002"}, "full_name": {"李登记员"}}
	if resp := admin.post(t, "/console/admin/users/li", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d", resp.StatusCode)
	}
	var u *store.User
	e.st.View(ctx, func(tx store.Tx) error { u, _ = tx.User("li"); return nil })
	if u.Role != store.RoleCoordinator || len(u.Districts) != 2 || u.FullName != "李登记员" {
		t.Fatalf("edited user %+v", u)
	}
	form.Set("districts", "nowhere")
	req, _ := http.NewRequest("POST", e.url+"/console/admin/users/li", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", token)
	resp, err := admin.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Error struct{ Code, Message string }
	}
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 400 || body.Error.Code != "bad_user" || !strings.Contains(body.Error.Message, "nowhere") {
		t.Fatalf("an invalid scope: %d %+v", resp.StatusCode, body)
	}
}

// An admin starts the duplicate check from the console (the API server's
// own job) and reads its summary when it is over.
func TestConsole_DedupStartAndSummary(t *testing.T) {
	e := startEnv(t)
	e.duplicateCase(t) // runs the check once directly, leaving a case
	admin := e.client(t)
	admin.signIn(t, "admin", adminPassword)
	_, _, token := admin.get(t, "/console/admin/dedup")
	if resp := admin.post(t, "/console/admin/dedup", url.Values{"csrf": {token}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("start: %d", resp.StatusCode)
	}
	for range 200 {
		if st, _ := e.srv.Dedup().Status(ctx); !st.Running {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, page, _ := admin.get(t, "/console/admin/dedup")
	if !strings.Contains(page, `id="dedup-last"`) {
		t.Fatalf("the dedup page shows no last run")
	}
	if !strings.Contains(page, `id="dedup-backlog">0<`) {
		t.Errorf("the dedup page shows no backlog of 0 after the run")
	}
	resp, err := admin.Get(e.url + "/console/admin/dedup/status")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Running bool
		Last    struct{ Full bool }
	}
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st.Running || !st.Last.Full {
		t.Fatalf("status %+v", st)
	}
}
