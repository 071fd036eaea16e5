package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	sdk "github.com/dengji/dengji/client-sdk"
	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/api"
	"github.com/dengji/dengji/server/auth"
	"github.com/dengji/dengji/server/backup"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore"
)

// restorable is a server over dir/server with its backups in dir/backups,
// listening on addr, that a test stops and starts again.
type restorable struct {
	*server
	backups *backup.Manager
}

// keys sign tokens across restarts, as the key file beside the data
// directory does.
var keys = auth.NewKeySet()

func startRestorable(t *testing.T, dir, addr string) *restorable {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(dir, "server"))
	if err != nil {
		t.Fatal(err)
	}
	gen, err := backup.Generation(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	m, err := backup.NewManager(filepath.Join(dir, "backups"), 2, st, gen, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	cfg := api.DefaultConfig()
	cfg.Validator = store.ModelValidator(model.Rules{ElectionDay: electionDay})
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Backups = m
	cfg.Keys = keys
	srv, err := api.New(ctx, st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(addr); err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	r := &restorable{server: &server{Server: srv, st: st, dir: dir}, backups: m}
	t.Cleanup(r.stop)
	return r
}

func (r *restorable) stop() {
	r.Close()
	r.st.Close()
}

// changeLog is every change the server's feed holds, by ID, counted.
func changeLog(t *testing.T, s *server) map[string]int {
	t.Helper()
	ids := map[string]int{}
	err := s.st.View(ctx, func(tx store.Tx) error {
		high, err := tx.HighSeq()
		if err != nil {
			return err
		}
		for seq := uint64(1); seq <= high; seq++ {
			ch, err := tx.ChangeBySeq(seq)
			if err != nil {
				continue // a sequence given out without a change (a resolution's record write)
			}
			ids[ch.ID]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestE2E_RestoreLosesNothing is the office whose disk died: devices push,
// a backup is taken, devices push more, a second backup, more pushes, some
// devices edit offline; the server stops and is restored from the second
// backup (older than what devices saw); the devices sync. Every change any
// device made is on the server exactly once, and all devices converge.
func TestE2E_RestoreLosesNothing(t *testing.T) {
	dir := t.TempDir()
	s := startRestorable(t, dir, "127.0.0.1:0")
	addr := strings.TrimPrefix(s.URL(), "http://")
	gen1 := s.generation(t)
	s.addUser(t, "boss", store.RoleAdmin)
	s.addUser(t, "li", store.RoleRegistrar, "430102001001", "430102001002")
	s.addUser(t, "wang", store.RoleRegistrar, "430102001002", "430102002001")
	s.addUser(t, "zhao", store.RoleRegistrar, "430102001001", "430102001002", "430102002001")
	a, b, c := s.device(t, "li", s.URL(), sdk.Options{}), s.device(t, "wang", s.URL(), sdk.Options{}), s.device(t, "zhao", s.URL(), sdk.Options{})
	devs := []*sdk.Device{a, b, c}
	edits := 0
	seed := uint64(100)
	create := func(d *sdk.Device, district string) string {
		t.Helper()
		seed++
		id, err := d.Create(model.TypeRegistration, district, registration(seed))
		if err != nil {
			t.Fatal(err)
		}
		edits++
		return id
	}
	update := func(d *sdk.Device, id, field, value string) {
		t.Helper()
		must(t, d.Update(id, map[string]json.RawMessage{field: str(value)}))
		edits++
	}
	syncAll := func() {
		for _, d := range devs {
			mustSync(t, d)
		}
	}

	// Before any backup.
	ra := create(a, "430102001001")
	rb := create(b, "430102002001")
	rc := create(c, "430102001002")
	syncAll()
	syncAll()
	first := s.takeBackup(t)
	kept := 0
	for _, d := range devs {
		n, _ := d.KeptForRestore()
		kept += n
	}
	if kept != 3 {
		t.Fatalf("devices keep %d changes with no backup behind the first: want all 3", kept)
	}

	// Between the backups: the second holds these.
	update(a, ra, "voter_group", "第1选民小组")
	ra2 := create(a, "430102001002")
	update(b, rb, "phone", "13912345678")
	syncAll()
	second := s.takeBackup(t)
	if second.Seq <= first.Seq {
		t.Fatalf("second backup seq %d after first %d", second.Seq, first.Seq)
	}
	syncAll() // every device learns the watermark (the first backup's, the oldest kept)
	var keptAfter int
	for _, d := range devs {
		n, _ := d.KeptForRestore()
		keptAfter += n
	}
	if keptAfter >= 3+3 || keptAfter < 3 {
		t.Fatalf("devices keep %d changes: those the first backup holds should be forgotten, those after kept", keptAfter)
	}

	// After the second backup: pushed and acknowledged, then lost with the
	// disk.
	update(c, rc, "voter_group", "第2选民小组")
	rc2 := create(c, "430102002001")
	update(a, ra2, "phone", "13800138000")
	syncAll()
	// Offline edits, not yet pushed when the server dies.
	update(b, rb, "voter_group", "第4选民小组")
	rb2 := create(b, "430102001002")
	update(c, rc2, "phone", "13700137000")

	// The disk dies; yesterday's backup is restored, as dengji restore does.
	s.stop()
	info, kept2, err := backup.Restore(filepath.Join(dir, "backups", second.File), filepath.Join(dir, "server", boltstore.FileName))
	if err != nil || kept2 == "" {
		t.Fatalf("restore: %v (replaced file kept as %q)", err, kept2)
	}
	st, err := boltstore.Open(filepath.Join(dir, "server"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := backup.NewGeneration(ctx, st, info); err != nil {
		t.Fatal(err)
	}
	st.Close()
	s = startRestorable(t, dir, addr)
	if gen2 := s.generation(t); gen2 == gen1 || gen2 == "" {
		t.Fatalf("generation after restore %q, before %q", gen2, gen1)
	}
	lost := changeLog(t, s.server)
	if len(lost) >= edits-3 {
		t.Fatalf("the restored server holds %d of %d changes: the test restored nothing older", len(lost), edits)
	}

	syncAll()
	syncAll()

	// Exactly once: every change made is in the feed once, and nothing else.
	log := changeLog(t, s.server)
	if len(log) != edits {
		t.Errorf("the server holds %d changes, the devices made %d", len(log), edits)
	}
	for id, n := range log {
		if n != 1 {
			t.Errorf("change %s is in the feed %d times", id, n)
		}
	}
	want := map[string]map[string]string{
		ra: {"voter_group": "第1选民小组"}, rb: {"phone": "13912345678", "voter_group": "第4选民小组"},
		rc: {"voter_group": "第2选民小组"}, ra2: {"phone": "13800138000"}, rc2: {"phone": "13700137000"}, rb2: {},
	}
	for id, fields := range want {
		rec := stateOf(s.record(t, id))
		for f, v := range fields {
			if string(rec.values[f]) != string(str(v)) {
				t.Errorf("record %s %s = %s, want %q", id, f, rec.values[f], v)
			}
		}
	}
	if cs := s.conflicts(t); len(cs) != 0 {
		t.Errorf("%d conflicts after the restore: %+v", len(cs), cs)
	}
	checkConverged(t, s.server, devs, map[*sdk.Device][]string{
		a: {"430102001001", "430102001002"}, b: {"430102001002", "430102002001"},
		c: {"430102001001", "430102001002", "430102002001"}})
}

func (r *restorable) generation(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(r.URL() + "/v1/me")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get(api.HeaderGeneration)
}

// takeBackup takes a backup through the admin API, while serving.
func (r *restorable) takeBackup(t *testing.T) backup.Info {
	t.Helper()
	post := func(path, token string, body any, out any) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", r.URL()+path, bytes.NewReader(b))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(out) != nil {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
	var tk struct {
		AccessToken string `json:"access_token"`
	}
	post("/v1/auth/login", "", map[string]string{"username": "boss", "password": "boss-password"}, &tk)
	var info backup.Info
	post("/v1/admin/backup", tk.AccessToken, nil, &info)
	if _, err := backup.Verify(filepath.Join(r.backups.Dir(), info.File)); err != nil {
		t.Fatal(err)
	}
	return info
}
