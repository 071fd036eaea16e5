package console_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	sdk "github.com/dengji/dengji/client-sdk"
	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/model/idcard"
	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// The browser tests drive Debian's chromium (headless, through chromedp)
// against the real server on a real listener. Outside CI they skip when no
// chromium is installed; in CI (CI=true) they fail instead.

// chromium finds the browser binary.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed: .ci/run installs it (apt-get install chromium)")
	}
	t.Skip("chromium is not installed")
	return ""
}

// browser starts a headless chromium with a fresh profile for the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 1000))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelTab := chromedp.NewContext(actx)
	tctx, cancelTimeout := context.WithTimeout(bctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelTab(); cancelAlloc() })
	return tctx
}

func do(t *testing.T, b context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b, steps...); err != nil {
		t.Fatal(err)
	}
}

func text(t *testing.T, b context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(b, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func eval[T any](t *testing.T, b context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(b, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it holds, across page loads.
func waitFor(t *testing.T, b context.Context, cond string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(b, chromedp.Evaluate[bool](cond))
		if err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("waited 30 s for %s", cond)
}

// signIn fills the sign-in form as a person would.
func signIn(t *testing.T, b context.Context, e *env, user, password string) {
	t.Helper()
	do(t, b, chromedp.Navigate(e.url+"/console/"),
		chromedp.WaitVisible(`#login input[name="username"]`),
		chromedp.SendKeys(`#login input[name="username"]`, user),
		chromedp.SendKeys(`#login input[name="password"]`, password))
	submitAndWait(t, b, `#login button[type="submit"]`)
}

// submitAndWait clicks a submit button and waits for the page it leads to.
func submitAndWait(t *testing.T, b context.Context, sel string) {
	t.Helper()
	eval[bool](t, b, "window.stillHere = true")
	do(t, b, chromedp.Click(sel))
	waitFor(t, b, `!window.stillHere && document.readyState == "complete"`)
}

// screenshot writes docs/screenshots/NAME.png when CONSOLE_SCREENSHOTS=1
// (so a test run does not change the tree).
func screenshot(t *testing.T, b context.Context, name string) {
	t.Helper()
	if os.Getenv("CONSOLE_SCREENSHOTS") != "1" {
		return
	}
	png, err := chromedp.Run(b, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "docs", "screenshots")
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The first-start admin signs in with the one-time password, is made to
// choose a new one, and then signs in with it.
func TestBrowser_SignInAndChangePassword(t *testing.T) {
	e := startEnv(t)
	// The admin as the first start leaves it: a one-time password.
	pw, err := accounts.ResetPassword(ctx, e.st, "admin")
	if err != nil {
		t.Fatal(err)
	}
	b := browser(t)
	signIn(t, b, e, "admin", "wrong-password-1")
	if msg := text(t, b, "#message"); !strings.Contains(msg, "用户名或密码错误") {
		t.Fatalf("a wrong password: %q", msg)
	}
	signIn(t, b, e, "admin", pw)
	do(t, b, chromedp.WaitVisible(`#password input[name="new"]`))
	if u := eval[string](t, b, "location.pathname"); u != "/console/password" {
		t.Fatalf("a one-time password must lead to the password form, not %s", u)
	}
	const newPW = "一个新的密码admin-2026"
	do(t, b, chromedp.SendKeys(`#password input[name="old"]`, pw),
		chromedp.SendKeys(`#password input[name="new"]`, newPW),
		chromedp.SendKeys(`#password input[name="confirm"]`, newPW),
		chromedp.Click(`#password button[type="submit"]`),
		chromedp.WaitVisible(`#open-conflicts`))
	// Sign out, and in again with the new password.
	do(t, b, chromedp.Click(`form[action="/console/logout"] button`), chromedp.WaitVisible(`#login`))
	signIn(t, b, e, "admin", newPW)
	do(t, b, chromedp.WaitVisible(`#open-conflicts`))
	// English on request.
	do(t, b, chromedp.Navigate(e.url+"/console/lang/en?back=/console/"), chromedp.WaitVisible(`#open-conflicts`))
	if s := text(t, b, "#open-conflicts"); !strings.Contains(s, "open conflicts") {
		t.Fatalf("English overview: %q", s)
	}
}

// A coordinator resolves a conflict from the keyboard, without reloading;
// the registrar's phone whose edit was not kept receives the decision.
func TestBrowser_ResolveConflict(t *testing.T) {
	e := startEnv(t)
	rec, cf, loser := e.conflictOnVoterGroup(t, "李碧辉")
	b := browser(t)
	if os.Getenv("CONSOLE_SCREENSHOTS") == "1" {
		e.seedRoll(t) // a roll worth a picture
	}
	signIn(t, b, e, "wu", "wu-password-1")
	do(t, b, chromedp.WaitVisible(`#open-conflicts`))
	if n := text(t, b, "#open-conflicts b"); n != "1" {
		t.Fatalf("overview: %s open conflicts, want 1", n)
	}
	screenshot(t, b, "overview")
	do(t, b, chromedp.Click(`#open-conflicts`), chromedp.WaitVisible(`#queue tr.row`))
	row := text(t, b, "#queue tr.row")
	if !strings.Contains(row, "李碧辉") || !strings.Contains(row, "东屯渡村") || strings.Contains(row, fmt.Sprint(cf.Kept.HLC)) ||
		!strings.Contains(row, cf.Kept.HLC.Time().In(time.FixedZone("", 8*3600)).Format("2006-01-02")) {
		t.Fatalf("a queue row shows the voter's name, the district's, and dates, not clocks: %q", row)
	}
	screenshot(t, b, "conflicts")
	loaded := eval[float64](t, b, "performance.timeOrigin")
	do(t, b, chromedp.KeyEvent("j"), chromedp.KeyEvent("2"))
	waitFor(t, b, `document.querySelector("#queue tr.row").classList.contains("done")`)
	if again := eval[float64](t, b, "performance.timeOrigin"); again != loaded {
		t.Fatal("the decision must take effect without reloading the page")
	}
	var got *dsync.Conflict
	e.st.View(ctx, func(tx store.Tx) error { got, _ = tx.Conflict(cf.ID); return nil })
	if got.Status != dsync.ConflictResolved || got.Resolution.Choice != "other" || got.Resolution.By != "wu" {
		t.Fatalf("stored conflict: %+v", got)
	}
	// The phone whose value was not kept learns the decision at its next sync.
	mustSync(t, loser)
	r, err := loser.Get(rec)
	if err != nil || string(r.Fields["voter_group"].Value) != string(cf.Other.Value) {
		t.Fatalf("the device's record after the decision: %s %v", r.Fields["voter_group"].Value, err)
	}
	cs, _ := loser.Conflicts()
	if len(cs) != 1 || cs[0].Status != dsync.ConflictResolved {
		t.Fatalf("the device's view of its conflict: %+v", cs)
	}
	// The record's history, one click from the conflict: every change, its
	// author and device.
	do(t, b, chromedp.Navigate(e.url+"/console/conflicts/"+cf.ID), chromedp.Click(`#history-link`),
		chromedp.WaitVisible(`table.history`))
	hist := text(t, b, "table.history")
	for _, want := range []string{"li", "wang", "wu", cf.Kept.Device, "第9选民小组"} {
		if !strings.Contains(hist, want) {
			t.Errorf("history lacks %q: %s", want, hist)
		}
	}
}

// A coordinator confirms a duplicate case, reopens it with a reason, and
// rejects it; the case page shows the members side by side and the
// match-weight chart.
func TestBrowser_Duplicates(t *testing.T) {
	e := startEnv(t)
	dc := e.duplicateCase(t)
	b := browser(t)
	signIn(t, b, e, "wu", "wu-password-1")
	do(t, b, chromedp.Navigate(e.url+"/console/duplicates"), chromedp.WaitVisible(`#queue tr.row`),
		chromedp.KeyEvent("j"), chromedp.KeyEvent("\r"), chromedp.WaitVisible(`#compare`))
	if p := eval[string](t, b, "location.pathname"); p != "/console/duplicates/"+dc.ID {
		t.Fatalf("Enter on the first row opens the case: %s", p)
	}
	agree := eval[[]string](t, b, `Array.from(document.querySelectorAll("#compare tr.agree th")).map(e => e.textContent)`)
	if !contains(strings.Join(agree, ","), "身份证号") || !contains(strings.Join(agree, ","), "姓名") ||
		contains(strings.Join(agree, ","), "户籍地址") {
		t.Fatalf("agreement highlighted on %v: want the ID number and the name, not the household address", agree)
	}
	bars := eval[int](t, b, `document.querySelectorAll("svg.waterfall rect").length`)
	if bars < 4 || !contains(text(t, b, ".coincidence"), "偶然") {
		t.Fatalf("the waterfall chart has %d bars", bars)
	}
	screenshot(t, b, "duplicate")

	do(t, b, chromedp.Click(`#confirm`))
	waitFor(t, b, `document.querySelector("#status") && document.querySelector("#status").dataset.status == "confirmed"`)
	if c := e.dupCase(t, dc.ID); c.Status != store.DupConfirmed || c.DecidedBy != "wu" {
		t.Fatalf("confirmed: %+v", c)
	}
	do(t, b, chromedp.WaitVisible(`#reason`), chromedp.SendKeys(`#reason`, "保留了错误的一条"),
		chromedp.Click(`#reopen button`))
	waitFor(t, b, `document.querySelector("#status") && document.querySelector("#status").dataset.status == "open"`)
	if c := e.dupCase(t, dc.ID); c.Status != store.DupOpen {
		t.Fatalf("reopened: %+v", c)
	}
	do(t, b, chromedp.WaitVisible(`#reject`), chromedp.KeyEvent("x")) // x rejects, from the keyboard
	waitFor(t, b, `document.querySelector("#status") && document.querySelector("#status").dataset.status == "rejected"`)
	if c := e.dupCase(t, dc.ID); c.Status != store.DupRejected {
		t.Fatalf("rejected: %+v", c)
	}
	if !e.audited(t, "duplicate_reopened", "保留了错误的一条") {
		t.Fatal("the reopening and its reason must be in the audit log")
	}
}

func (e *env) dupCase(t *testing.T, id string) *store.DupCase {
	var c *store.DupCase
	e.st.View(ctx, func(tx store.Tx) error { c, _ = tx.DupCase(id); return nil })
	return c
}

// audited reports an audit entry of action whose details mention s.
func (e *env) audited(t *testing.T, action, s string) bool {
	var found bool
	e.st.View(ctx, func(tx store.Tx) error {
		es, err := tx.AuditEntries(0, 0)
		for _, en := range es {
			if string(en.Action) == action && strings.Contains(string(en.Details), s) {
				found = true
			}
		}
		return err
	})
	return found
}

// A coordinator of another county opening a case by its URL finds nothing.
func TestBrowser_OtherCountyByURL(t *testing.T) {
	e := startEnv(t)
	rec, cf, _ := e.conflictOnVoterGroup(t, "杨倩")
	dc := e.duplicateCase(t)
	b := browser(t)
	signIn(t, b, e, "zhou", "zhou-password-1")
	do(t, b, chromedp.WaitVisible(`#open-conflicts`))
	for _, path := range []string{"/console/conflicts/" + cf.ID, "/console/duplicates/" + dc.ID, "/console/records/" + rec,
		"/console/conflicts?district=430102"} {
		do(t, b, chromedp.Navigate(e.url+path), chromedp.WaitVisible(`p.error`))
		code := eval[string](t, b, `document.querySelector("p.error").dataset.code`)
		if code != "not_found" && code != "out_of_scope" {
			t.Errorf("%s as another county's coordinator: %s", path, code)
		}
		if body := text(t, b, "main"); strings.Contains(body, "杨倩") || strings.Contains(body, "梁峻青") {
			t.Errorf("%s shows a voter of another county", path)
		}
	}
	if n := text(t, b, "a[href='/console/conflicts']"); n == "" {
		t.Fatal("menu missing")
	}
}

// An admin imports a file and watches its progress to the end, and the
// report of row errors and warnings can be downloaded.
func TestBrowser_ImportWithProgress(t *testing.T) {
	e := startEnv(t)
	var csv strings.Builder
	csv.WriteString("姓名,性别,出生日期,身份证号,选区,选民小组,ref\n")
	for i := range 20000 {
		id := fmt.Sprintf("43010219%02d%02d%02d%03d", 50+i%40, 1+i%12, 1+i%28, i%1000)
		fmt.Fprintf(&csv, "张%d,男,,%s,%s,第1选民小组,r%d\n", i, id, distA1, i) // many IDs fail their check digit: warnings
	}
	csv.WriteString(",女,1990-01-01,,430102001001,第1选民小组,bad\n") // no name: an error
	file := filepath.Join(t.TempDir(), "roll.csv")
	os.WriteFile(file, []byte(csv.String()), 0o644)

	b := browser(t)
	signIn(t, b, e, "admin", adminPassword)
	do(t, b, chromedp.Navigate(e.url+"/console/roll"), chromedp.WaitVisible(`#import`),
		chromedp.SetUploadFiles(`#import input[type=file]`, []string{file}))
	// Watch the bar as a person would: note every value it shows.
	eval[bool](t, b, `window.seen = []; setInterval(() => seen.push(document.querySelector("#import-bar").value), 10); true`)
	do(t, b, chromedp.Click(`#import button`))
	waitFor(t, b, `document.querySelector("#import-done") !== null`)
	if mid := eval[int](t, b, `seen.filter(v => v > 0 && v < 1).length`); mid == 0 {
		t.Error("the progress bar never showed the import under way")
	}
	if v := eval[float64](t, b, `document.querySelector("#import-bar").value`); v != 1 {
		t.Fatalf("progress bar at the end: %v", v)
	}
	res := text(t, b, "#import-done")
	if !strings.Contains(res, "读取 20001") || !strings.Contains(res, "有误 1") {
		t.Fatalf("import result: %q", res)
	}
	href := eval[string](t, b, `document.querySelector("#import-report").href`)
	report, err := chromedp.Run(b, chromedp.Evaluate[string](fmt.Sprintf(`fetch(%q).then(r => r.text())`, href), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(report, "类型/kind") || !strings.Contains(report, "错误/error") || !strings.Contains(report, "警告/warning") {
		t.Fatalf("the report: %.300s", report)
	}
	var n int
	e.st.View(ctx, func(tx store.Tx) error {
		return tx.ForEachRecord(model.TypeRegistration, func(*dsync.Record) error { n++; return nil })
	})
	if n != 20000 {
		t.Fatalf("%d registrations stored, want 20000", n)
	}
}

// An admin revokes a lost phone: its next sync is refused.
func TestBrowser_RevokeDevice(t *testing.T) {
	e := startEnv(t)
	d := e.device(t, "chen")
	mustSync(t, d)
	b := browser(t)
	signIn(t, b, e, "admin", adminPassword)
	sel := fmt.Sprintf(`tr[data-device=%q] button`, d.ID())
	do(t, b, chromedp.Navigate(e.url+"/console/admin/devices"), chromedp.WaitVisible(sel))
	eval[bool](t, b, "window.confirm = () => true; true") // the "revoke this device?" question, answered yes
	do(t, b, chromedp.Click(sel))
	waitFor(t, b, fmt.Sprintf(`document.querySelector('tr[data-device=%q]').classList.contains("done") || !document.querySelector(%q)`, d.ID(), sel))
	if !revoked(t, e, d.ID()) {
		t.Fatal("the device is not revoked")
	}
	_, err := d.Sync(ctx)
	var se *sdk.ServerError
	if !errors.As(err, &se) || se.Code != "device_revoked" {
		t.Fatalf("the revoked phone's sync: %v", err)
	}
}

// seedRoll pushes a few hundred varied registrations into county A's two
// districts over the last two weeks, as a phone would: additions and
// removals by reason, the four categories, the three channels, some without
// an ID number.
func (e *env) seedRoll(t *testing.T) {
	t.Helper()
	surnames, given := []rune("王李张刘陈杨黄赵吴周"), []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平")
	adds, removals := []string{"", "", "new_18", "moved_in", "rights_restored"}, []string{"died", "moved_out", "deprived"}
	cats, channels := []string{"deprived", "suspended", "whereabouts_unknown", "unable"}, []string{"door", "door", "station", "online"}
	var chs []dsync.Change
	for i := range 400 {
		birth := time.Date(1940+i%60, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC)
		seq := 100 + i
		r := model.Registration{Name: string([]rune{surnames[i%10], given[i%20], given[(i/20)%20]}),
			Gender: []string{"F", "M"}[seq%2], BirthDate: birth.Format("2006-01-02"),
			IDNumber: idcard.Compose("430102", birth.Format("20060102"), seq), VoterGroup: fmt.Sprintf("第%d选民小组", 1+i%6),
			Channel: channels[i%4], AdditionReason: adds[i%5]}
		switch {
		case i%9 == 0:
			r.IDNumber = ""
		case i%23 == 0:
			r.Status, r.RemovalReason = "removed", removals[i%3]
		case i%31 == 0:
			r.Category = cats[i%4]
		}
		day := time.Now().Add(-time.Duration(14-i*i%15) * 24 * time.Hour)
		chs = append(chs, dsync.Change{ID: fmt.Sprintf("seed-%d", i), Device: "seed-phone", Counter: uint64(i + 1),
			Record: fmt.Sprintf("seed-rec-%d", i), Type: model.TypeRegistration, District: []string{distA1, distA2}[i%2],
			Op: dsync.OpCreate, HLC: dsync.MakeHLC(day.UnixMilli(), 0), Set: r.Fields(), Base: map[string]string{}})
	}
	if _, err := store.Push(ctx, e.st, store.PushRequest{Device: "seed-phone", Author: "li", Changes: chs}); err != nil {
		t.Fatal(err)
	}
}
