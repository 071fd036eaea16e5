package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	sdk "github.com/dengji/dengji/client-sdk"
	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/model/idcard"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// deviceURL is the address devices are configured with; their transport
// sends to wherever the server listens now.
const deviceURL = "http://dengji.chaos.invalid"

// world is one run under way: the server, the devices and the model of
// what each device did.
type world struct {
	ctx     context.Context
	plan    *Plan
	backend Backend
	dir     string
	stats   *Stats

	mu   sync.Mutex
	urls []string // the servers' addresses now

	devs  []*device
	known map[string][]string // record IDs created on devices, by district
	// people registered so far, so a later create may register one again
	// in another district for the duplicate check to find
	people  []model.Registration
	coord   *apiClient
	admin   *apiClient
	console chan error // the coordinator's step under way, if any
	value   int        // the last unique value number handed out
}

// device is one phone and what the model knows it did.
type device struct {
	spec      DeviceSpec
	user      string
	path      string
	opts      sdk.Options
	d         *sdk.Device
	tr        *transport
	edits     []edit
	backup    int // len(edits) when the backup was taken; -1: none
	lostAfter int // edits from this index on may have been lost with a restore
}

// edit is one change a device made, as the model records it.
type edit struct {
	op     OpKind
	record string
	change string // the change's ID, read from the device's view after the edit
}

func password(user string) string { return user + "-chaos-password" }

// seedAccounts writes the run's accounts straight into the store, hashed at
// bcrypt's lowest cost: sign-in is not under test here, and a thousand runs
// would otherwise spend most of their time hashing.
func seedAccounts(ctx context.Context, st store.Store, plan *Plan) error {
	users := []store.User{{Name: "coord", Role: store.RoleCoordinator, Districts: []string{"430102"}},
		{Name: "admin", Role: store.RoleAdmin}}
	for i, d := range plan.Devices {
		users = append(users, store.User{Name: fmt.Sprintf("reg%d", i), Role: store.RoleRegistrar, Districts: d.Scope})
	}
	return st.Update(ctx, func(tx store.Tx) error {
		for _, u := range users {
			h, err := bcrypt.GenerateFromPassword([]byte(password(u.Name)), bcrypt.MinCost)
			if err != nil {
				return err
			}
			u.PasswordHash, u.Created = h, time.Now()
			if err := tx.PutUser(&u); err != nil {
				return err
			}
		}
		return nil
	})
}

// serverURL is where device i (or the console, -1) reaches a server now.
func (w *world) serverURL(i int) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.urls[max(i, 0)%len(w.urls)]
}

// start seeds the store and starts the server and the devices.
func (w *world) start() error {
	st, err := w.backend.OpenStore()
	if err != nil {
		return err
	}
	err = errors.Join(seedAccounts(w.ctx, st, w.plan), st.Close())
	if err != nil {
		return err
	}
	if err := w.restart(); err != nil {
		return err
	}
	w.coord, w.admin = &apiClient{w: w, user: "coord"}, &apiClient{w: w, user: "admin"}
	if err := errors.Join(w.coord.login(), w.admin.login()); err != nil {
		return fmt.Errorf("coordinator login: %w", err)
	}
	for i, spec := range w.plan.Devices {
		dv := &device{spec: spec, user: fmt.Sprintf("reg%d", i), backup: -1, lostAfter: -1,
			path: filepath.Join(w.dir, fmt.Sprintf("phone%d.db", i))}
		dv.tr = &transport{w: w, dev: i}
		skew, rules := spec.Skew, model.Rules{ElectionDay: electionDay}
		if spec.NoElectionDay {
			rules = model.Rules{}
		}
		dv.opts = sdk.Options{ServerURL: deviceURL, HTTPClient: &http.Client{Transport: dv.tr, Timeout: time.Minute},
			Rules: rules, Now: func() time.Time { return time.Now().Add(skew) },
			BatchSize: 5, PageSize: 7, MaxAttempts: 4, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond}
		if err := dv.open(); err != nil {
			return err
		}
		if err := dv.d.Login(w.ctx, dv.user, password(dv.user)); err != nil {
			return fmt.Errorf("login %s: %w", dv.user, err)
		}
		w.devs = append(w.devs, dv)
	}
	return nil
}

// restart starts the server (again) and points the devices at it.
func (w *world) restart() error {
	urls, err := w.backend.Start(w.ctx)
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.urls = urls
	w.mu.Unlock()
	return nil
}

// background runs a coordinator's or administrator's step while the next
// steps (devices syncing, the server being killed) go on; it waits for the
// one before. Its figures (decisions) are fields no device step writes.
func (w *world) background(step func() error) error {
	if err := w.join(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- step() }()
	w.console = done
	return nil
}

// join waits for the background step under way, if any.
func (w *world) join() error {
	if w.console == nil {
		return nil
	}
	err := <-w.console
	w.console = nil
	return err
}

// kill kills the server and starts it again on the same data.
func (w *world) kill() error {
	if err := w.backend.Kill(); err != nil {
		return err
	}
	return w.restart()
}

// killDuring sends a request, kills the server a moment later, while the
// request is with it (before or after it commits: either may happen), and
// restarts it. The device sees a cut connection. The moment (up to 3 ms)
// is not drawn from the run's seed: whether the commit happened first is
// timing, so a replay covers the same schedule, not the same instant.
func (w *world) killDuring(send func() (*http.Response, error)) error {
	done := make(chan struct{})
	go func() {
		if resp, err := send(); err == nil {
			drain(resp)
		}
		close(done)
	}()
	time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
	if err := w.kill(); err != nil {
		return err
	}
	<-done
	return errCut
}

func (w *world) stop() {
	w.join()
	for _, d := range w.devs {
		if d.d != nil {
			d.d.Close()
		}
	}
	w.backend.Kill()
}

func (dv *device) open() error {
	d, err := sdk.Open(dv.path, dv.opts)
	dv.d = d
	return err
}

// reopen closes the device file and opens it again: what the app finds
// after its process was killed (bbolt commits whole transactions or none).
func (dv *device) reopen() error {
	if err := dv.d.Close(); err != nil {
		return err
	}
	return dv.open()
}

// exec runs one step.
func (w *world) exec(op Op) error {
	dv := w.devs[op.Dev]
	rng := rand.New(rand.NewPCG(op.R, w.plan.Seed))
	switch op.Kind {
	case OpCreate, OpUpdate, OpDelete, OpMigrant:
		return w.edit(dv, op, rng)
	case OpSync:
		dv.tr.schedule(op.Faults)
		_, err := dv.d.Sync(w.ctx) // a sync through faults may fail; the next one carries on
		dv.tr.schedule(nil)
		w.stats.Syncs++
		if err != nil {
			w.stats.FailedSyncs++
		}
		return nil
	case OpResolve:
		return w.background(func() error { return w.coord.resolve(rng) })
	case OpDedup:
		return w.background(func() error { return w.dedup(rng) })
	case OpBackup:
		return dv.takeBackup()
	case OpRestore:
		return dv.restoreBackup(w.stats)
	case OpKill:
		w.stats.Faults[FaultKill]++
		return w.kill()
	}
	return fmt.Errorf("chaos: unknown step %d", op.Kind)
}

// edit makes one offline edit on a device and records it in the model.
func (w *world) edit(dv *device, op Op, rng *rand.Rand) error {
	if op.Crash == CrashBefore { // typed, then the process died: nothing was written
		w.stats.DeviceCrashes++
		return dv.reopen()
	}
	e, err := w.makeEdit(dv, op.Kind, rng)
	if err != nil || e.record == "" {
		return err
	}
	view, err := dv.d.Get(e.record)
	if err != nil {
		return fmt.Errorf("chaos: read back %s %s: %w", op.Kind, e.record, err)
	}
	e.change = lastWrite(view, e.op)
	dv.edits = append(dv.edits, e)
	w.stats.Edits++
	if op.Crash == CrashAfter {
		w.stats.DeviceCrashes++
		return dv.reopen()
	}
	return nil
}

// lastWrite is the ID of the device's change that just wrote the record:
// the version of a field it set.
func lastWrite(view *dsync.Record, op OpKind) string {
	if op == OpDelete {
		return view.Version(dsync.FieldDeleted)
	}
	best := ""
	for k, f := range view.Fields {
		if k != dsync.FieldDeleted && f.Version > best { // change IDs are UUIDv7: later sorts higher
			best = f.Version
		}
	}
	return best
}

func (w *world) makeEdit(dv *device, kind OpKind, rng *rand.Rand) (edit, error) {
	scope := dv.spec.Scope
	e := edit{op: kind}
	var err error
	target := ""
	if kind != OpCreate {
		target = w.pick(rng, dv, scope)
		if target == "" {
			kind, e.op = OpCreate, OpCreate // nothing to edit yet: register someone
		}
	}
	switch kind {
	case OpCreate:
		district := scope[rng.IntN(len(scope))]
		e.record, err = dv.d.Create(model.TypeRegistration, district, w.registration(rng))
		if err == nil {
			w.known[district] = append(w.known[district], e.record)
		}
	case OpUpdate:
		e.record, err = target, dv.d.Update(target, w.fields(rng))
	case OpDelete:
		e.record, err = target, dv.d.Delete(target)
	case OpMigrant:
		rec, _ := dv.d.Get(target)
		if rec.Type != model.TypeRegistration {
			return edit{}, nil
		}
		e.record, err = dv.d.Create(model.TypeMigrantContact, rec.District, w.contact(target, rng))
	}
	var verr *sdk.ValidationError
	if errors.As(err, &verr) { // refused on the device, before it became a change
		w.stats.RefusedOnDevice++
		return edit{}, nil
	}
	if err != nil {
		return edit{}, fmt.Errorf("chaos: %s on %s: %w", kind, dv.user, err)
	}
	return e, nil
}

// pick draws a record the device holds live from the districts it covers,
// without listing its store; "" if a few draws found none.
func (w *world) pick(rng *rand.Rand, dv *device, scope []string) string {
	for range 4 {
		ids := w.known[scope[rng.IntN(len(scope))]]
		if len(ids) == 0 {
			continue
		}
		id := ids[rng.IntN(len(ids))]
		if r, err := dv.d.Get(id); err == nil && !r.Deleted() {
			return id
		}
	}
	return ""
}

// unique hands out a number no other edit of the run uses, so every value
// written is distinct and the checks can tell writes apart by value too.
func (w *world) unique() int { w.value++; return w.value }

func (w *world) registration(rng *rand.Rand) map[string]json.RawMessage {
	n := w.unique()
	var r model.Registration
	if len(w.people) > 0 && rng.IntN(4) == 0 {
		r = w.people[rng.IntN(len(w.people))] // registered again, here
	} else {
		year := 1950 + rng.IntN(50)
		if rng.IntN(12) == 0 {
			year = 2010 // under 18 on election day
		}
		birth := time.Date(year, time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
		seq := 100 + rng.IntN(900)
		r = model.Registration{Name: names[rng.IntN(len(names))], Gender: []string{"F", "M"}[seq%2],
			BirthDate: birth.Format("2006-01-02"), IDNumber: idcard.Compose("430102", birth.Format("20060102"), seq)}
		w.people = append(w.people, r)
	}
	r.ResidenceAddress, r.Phone = fmt.Sprintf("水塘垸%d号", n), fmt.Sprintf("139%08d", n)
	r.VoterGroup, r.Channel, r.Status = fmt.Sprintf("第%d选民小组", n), "door", "registered"
	return r.Fields()
}

// fields are one to three fields of an update, each a value never written before.
func (w *world) fields(rng *rand.Rand) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for len(out) == 0 {
		n := w.unique()
		if rng.IntN(2) == 0 {
			out["residence_address"] = jsonString(fmt.Sprintf("水塘垸%d号", n))
		}
		if rng.IntN(2) == 0 {
			out["phone"] = jsonString(fmt.Sprintf("139%08d", n))
		}
		if rng.IntN(2) == 0 {
			out["voter_group"] = jsonString(fmt.Sprintf("第%d选民小组", n))
		}
	}
	return out
}

func (w *world) contact(registration string, rng *rand.Rand) map[string]json.RawMessage {
	return map[string]json.RawMessage{
		"registration_id": jsonString(registration), "date": jsonString("2026-11-20"),
		"channel": jsonString("phone"), "outcome": jsonString("unreachable"), "evidence": jsonString("heard"),
		"note": jsonString(fmt.Sprintf("第%d次联系", w.unique())),
	}
}

var names = []string{"王雄", "梁峻青", "李碧辉", "杨倩", "黄金", "张伟", "李娜", "刘洋"}

func jsonString(s string) json.RawMessage { b, _ := json.Marshal(s); return b }

// takeBackup copies the device file aside (the app closed for the copy).
func (dv *device) takeBackup() error {
	if err := dv.d.Close(); err != nil {
		return err
	}
	if err := copyFile(dv.path, dv.path+".backup"); err != nil {
		return err
	}
	dv.backup = len(dv.edits)
	return dv.open()
}

// restoreBackup puts the older copy back: the phone was lost and its backup
// restored onto a new one. Edits made since the backup that the server had
// not taken are gone with the old phone; the model marks them as possibly
// lost.
func (dv *device) restoreBackup(st *Stats) error {
	if dv.backup < 0 {
		return nil
	}
	if err := dv.d.Close(); err != nil {
		return err
	}
	if err := copyFile(dv.path+".backup", dv.path); err != nil {
		return err
	}
	if dv.lostAfter < 0 || dv.backup < dv.lostAfter {
		dv.lostAfter = dv.backup
	}
	st.DeviceRestores++
	return dv.open()
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}

// heal syncs every device without faults until nothing is left to send:
// a push round, then a pull round so every device sees every push. Then
// each device asks about every conflict it holds open, as its daily sweep
// would: a decision that kept the record as it was reaches a device no
// sooner, and a run lasts seconds.
func (w *world) heal() error {
	for pass := 0; pass < 2; pass++ {
		for _, dv := range w.devs {
			if _, err := dv.d.Sync(w.ctx); err != nil {
				return fmt.Errorf("chaos: final sync of %s: %w", dv.user, err)
			}
		}
	}
	for _, dv := range w.devs {
		if _, err := dv.d.RecheckConflicts(w.ctx); err != nil {
			return fmt.Errorf("chaos: conflicts of %s: %w", dv.user, err)
		}
	}
	return nil
}

// errBadChoice is the server refusing a decision it cannot carry out.
var errBadChoice = errors.New("chaos: bad_choice")

// apiClient is a coordinator or an administrator at the console: the API
// without faults.
type apiClient struct {
	w     *world
	user  string
	token string
}

func (c *apiClient) login() error {
	var out struct {
		AccessToken string `json:"access_token"`
	}
	err := c.call(http.MethodPost, "/v1/auth/login", map[string]string{"username": c.user, "password": password(c.user)}, &out)
	c.token = out.AccessToken
	return err
}

// resolve decides up to three open conflicts, each kept or other as rng
// says. A delete conflict decided "other" restores or deletes the record.
func (c *apiClient) resolve(rng *rand.Rand) error {
	var list struct {
		Items []dsync.Conflict `json:"conflicts"`
	}
	if err := c.call(http.MethodGet, "/v1/conflicts?status=open&limit=50", nil, &list); err != nil {
		return err
	}
	for i := 0; i < 3 && len(list.Items) > 0; i++ {
		k := rng.IntN(len(list.Items))
		cf := list.Items[k]
		list.Items = append(list.Items[:k], list.Items[k+1:]...)
		choice := []string{store.ChoiceKept, store.ChoiceOther}[rng.IntN(2)]
		if cf.Kind == dsync.KindEditDeleted && choice == store.ChoiceOther {
			c.w.stats.RecordRestores++
		}
		err := c.call(http.MethodPost, "/v1/conflicts/"+cf.ID+"/resolve", map[string]string{"choice": choice}, nil)
		if errors.Is(err, errBadChoice) {
			// "other" on a field of a record deleted since cannot be
			// carried out; the coordinator keeps what is there.
			choice = store.ChoiceKept
			err = c.call(http.MethodPost, "/v1/conflicts/"+cf.ID+"/resolve", map[string]string{"choice": choice}, nil)
		}
		if err != nil {
			return err
		}
		c.w.stats.Decisions++
	}
	return nil
}

// call makes one API call. The server may be killed and restarted under
// it (the console does not stop for that): a connection that fails is tried
// again at the server's new address, and a decision answered "already made"
// on a later try was made by an earlier one whose answer was lost.
func (c *apiClient) call(method, path string, in, out any) error {
	var body []byte
	if in != nil {
		body, _ = json.Marshal(in)
	}
	for attempt := 0; ; attempt++ {
		status, b, err := c.once(method, path, body)
		switch {
		case err != nil && attempt < 100 && c.w.ctx.Err() == nil:
			time.Sleep(10 * time.Millisecond)
			continue
		case err != nil:
			return err
		case status == http.StatusConflict && attempt > 0 && bytes.Contains(b, []byte(`"already_`)):
			return nil
		case status == http.StatusBadRequest && bytes.Contains(b, []byte(`"bad_choice"`)):
			return fmt.Errorf("%w: %s %s: %s", errBadChoice, method, path, b)
		case status >= 300:
			return fmt.Errorf("chaos: %s %s %s: %d %s", c.user, method, path, status, b)
		case out != nil:
			return json.Unmarshal(b, out)
		}
		return nil
	}
}

func (c *apiClient) once(method, path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(c.w.ctx, method, c.w.serverURL(-1)+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// dedup runs the duplicate check to its end and has the coordinator decide
// one open case: confirmed, keeping one registration and marking the others
// removed through server changes, or rejected.
func (w *world) dedup(rng *rand.Rand) error {
	if err := w.admin.call(http.MethodPost, "/v1/admin/dedup", nil, nil); err != nil {
		return err
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var st struct {
			Running bool `json:"running"`
		}
		if err := w.admin.call(http.MethodGet, "/v1/admin/dedup", nil, &st); err != nil {
			return err
		}
		if !st.Running {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("chaos: the duplicate check ran for more than 10 s")
		}
	}
	var list struct {
		Cases []struct {
			ID      string `json:"id"`
			Members []struct {
				Record string `json:"record"`
			} `json:"members"`
		} `json:"cases"`
	}
	if err := w.coord.call(http.MethodGet, "/v1/duplicates?status=open&limit=50", nil, &list); err != nil || len(list.Cases) == 0 {
		return err
	}
	c := list.Cases[rng.IntN(len(list.Cases))]
	decision := map[string]any{"decision": "rejected"}
	if rng.IntN(3) > 0 {
		decision = map[string]any{"decision": "confirmed", "keep": c.Members[rng.IntN(len(c.Members))].Record, "remove": true}
	}
	w.stats.DuplicateDecisions++
	return w.coord.call(http.MethodPost, "/v1/duplicates/"+c.ID+"/decide", decision, nil)
}
