package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	sdk "github.com/dengji/dengji/client-sdk"
	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/api"
	"github.com/dengji/dengji/server/auth"
	"github.com/dengji/dengji/server/bench/fielddevice"
	"github.com/dengji/dengji/server/election"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore"
	dsync "github.com/dengji/dengji/sync"
)

// FieldConfig sizes a field benchmark run.
type FieldConfig struct {
	Bootstrap int           // records a new device bootstraps from (the server holds them)
	Push      int           // records a device creates offline and pushes
	Links     []LinkProfile // the links to run, in order
	Dir       string        // work directory; a temporary one if empty
	// DeviceCommand, if set, runs the bootstrap and the listing in a process
	// of their own (dengji-field-device, with its flags appended), so that
	// the peak RSS is the device's alone; nil runs them in this process.
	DeviceCommand []string
	// Timeout bounds each timed phase.
	Timeout time.Duration
}

// DefaultFieldConfig is the run the README's figures come from.
func DefaultFieldConfig() FieldConfig {
	return FieldConfig{Bootstrap: 30000, Push: 2000, Links: []LinkProfile{LinkEDGE, LinkEDGECuts, Link3G},
		Timeout: 30 * time.Minute}
}

// LinkFigures are one link's figures. The JSON keys are an interface
// outside scripts use.
type LinkFigures struct {
	BootstrapRecords        int     `json:"bootstrap_records"`
	BootstrapSeconds        float64 `json:"bootstrap_seconds"`
	BootstrapBytes          int64   `json:"bootstrap_bytes"` // both ways, on the wire
	BootstrapBytesPerRecord float64 `json:"bootstrap_bytes_per_record"`
	PushRecords             int     `json:"push_records"`
	PushSeconds             float64 `json:"push_seconds"`
	PushBytes               int64   `json:"push_bytes"` // both ways, on the wire
	PushUpBytes             int64   `json:"push_up_bytes"`
	// EditSync*: a Sync of one edit to each pushed record.
	EditSyncSeconds   float64 `json:"edit_sync_seconds"`
	EditSyncUpBytes   int64   `json:"edit_sync_up_bytes"`
	EditSyncDownBytes int64   `json:"edit_sync_down_bytes"`
	// RefetchedBytes is what a bootstrap over this link carried beyond one
	// over the same link without cuts (0 on a link without cuts).
	RefetchedBytes      int64   `json:"refetched_bytes"`
	Cuts                int64   `json:"cuts"`
	SmallSyncRoundTrips int     `json:"small_sync_round_trips"` // HTTP requests of a one-record Sync on an open connection
	SmallSyncSeconds    float64 `json:"small_sync_seconds"`
	// ConflictSync*: a Sync with nothing to send or fetch, on a device
	// holding ConflictSyncOpen open conflicts.
	ConflictSyncOpen     int     `json:"conflict_sync_open"`
	ConflictSyncRequests int     `json:"conflict_sync_requests"`
	ConflictSyncBytes    int64   `json:"conflict_sync_bytes"` // both ways, on the wire
	ConflictSyncSeconds  float64 `json:"conflict_sync_seconds"`
	// ExpiredSync*: the same Sync by the app started again after its access
	// token expired.
	ExpiredSyncRequests int     `json:"expired_sync_requests"`
	ExpiredSyncSeconds  float64 `json:"expired_sync_seconds"`
}

// FieldFigures are a run's figures: one object per link, and the device's
// own.
type FieldFigures struct {
	EDGE                     *LinkFigures `json:"edge,omitempty"`
	EDGECuts                 *LinkFigures `json:"edge_cuts,omitempty"`
	ThreeG                   *LinkFigures `json:"3g,omitempty"`
	DeviceFileBytesPerRecord float64      `json:"device_file_bytes_per_record"`
	// PeakRSSMB is the larger of the bootstrap's and the listing's: a list
	// screen paging through every record's summary, and searches by name,
	// initials, ID number and address, opening a record each finds.
	PeakRSSMB      float64 `json:"peak_rss_mb"`
	BootstrapRSSMB float64 `json:"bootstrap_rss_mb"`
	ListRSSMB      float64 `json:"list_rss_mb"`
	// ListRecordsRSSMB is the peak of reading every whole record, page by
	// page (ListPage): every page of the device file.
	ListRecordsRSSMB float64 `json:"list_records_rss_mb"`
	// At the end of the bootstrap and of the listing, their resident sets
	// by what they hold: *AnonMB heap and stacks, *FileMB the device file's
	// pages mapped, *BinaryMB the device binary's.
	BootstrapAnonMB   float64 `json:"bootstrap_anon_mb"`
	BootstrapFileMB   float64 `json:"bootstrap_file_mb"`
	BootstrapBinaryMB float64 `json:"bootstrap_binary_mb"`
	ListAnonMB        float64 `json:"list_anon_mb"`
	ListFileMB        float64 `json:"list_file_mb"`
	ListBinaryMB      float64 `json:"list_binary_mb"`
	// RSSInProcess is true when the device ran in the benchmark's process
	// (with the server): its RSS figures are then the whole process's.
	RSSInProcess bool `json:"rss_in_process"`
}

func (f *FieldFigures) link(name string) **LinkFigures {
	switch name {
	case "edge":
		return &f.EDGE
	case "edge_cuts":
		return &f.EDGECuts
	}
	return &f.ThreeG
}

// Users of the field benchmark: one whose district holds the bootstrap
// records, one of an empty district who pushes.
const (
	fieldUser, fieldPushUser = fielddevice.User, "field-push"
	fieldPassword            = fielddevice.Password
	fieldPushDistrict        = "430102001002"
)

// Field runs the field benchmark: the real server, and real SDK devices
// reaching it through an emulated link.
func Field(ctx context.Context, cfg FieldConfig) (*FieldFigures, error) {
	dir, done, err := workDir(cfg.Dir, "dengji-field-")
	if err != nil {
		return nil, err
	}
	defer done()
	e, err := startField(ctx, dir, cfg.Bootstrap)
	if err != nil {
		return nil, err
	}
	defer e.close()
	f := &FieldFigures{RSSInProcess: len(cfg.DeviceCommand) == 0}
	var clean int64 // bootstrap bytes over the last link without cuts
	for i, p := range cfg.Links {
		lf, err := e.runLink(ctx, cfg, p, i)
		if err != nil {
			return f, fmt.Errorf("link %s: %w", p.Name, err)
		}
		if p.CutMax == 0 {
			clean = lf.BootstrapBytes
		} else if clean > 0 {
			lf.RefetchedBytes = max(0, lf.BootstrapBytes-clean)
		}
		*f.link(p.Name) = lf
	}
	// The device on its own: its file after a bootstrap, and its peak RSS
	// bootstrapping and listing (through no shaping: memory, not time).
	file := filepath.Join(dir, "rss-device.db")
	boot, err := e.deviceTask(ctx, cfg, fielddevice.TaskBootstrap, e.srv.URL(), file)
	if err != nil {
		return f, fmt.Errorf("bootstrap for memory: %w", err)
	}
	list, err := e.deviceTask(ctx, cfg, fielddevice.TaskList, e.srv.URL(), file)
	if err != nil {
		return f, fmt.Errorf("listing: %w", err)
	}
	records, err := e.deviceTask(ctx, cfg, fielddevice.TaskListRecords, e.srv.URL(), file)
	if err != nil {
		return f, fmt.Errorf("listing whole records: %w", err)
	}
	if boot.Records > 0 {
		f.DeviceFileBytesPerRecord = float64(boot.FileBytes) / float64(boot.Records)
	}
	f.BootstrapRSSMB, f.ListRSSMB, f.ListRecordsRSSMB = boot.RSSMB, list.RSSMB, records.RSSMB
	f.BootstrapAnonMB, f.BootstrapFileMB, f.BootstrapBinaryMB = boot.AnonMB, boot.FileMB, boot.BinaryMB
	f.ListAnonMB, f.ListFileMB, f.ListBinaryMB = list.AnonMB, list.FileMB, list.BinaryMB
	f.PeakRSSMB = max(boot.RSSMB, list.RSSMB)
	return f, nil
}

type fieldEnv struct {
	dir    string
	st     store.Store
	srv    *api.Server
	issuer *auth.Issuer // the server's, to make an expired access token
	n      atomic.Int64 // device files made
}

// startField starts a server holding n registrations in one district.
func startField(ctx context.Context, dir string, n int) (*fieldEnv, error) {
	st, err := boltstore.Open(filepath.Join(dir, "server"))
	if err != nil {
		return nil, err
	}
	el := model.Election{Name: "field", Day: "2026-12-20"}
	err = st.Update(ctx, func(tx store.Tx) error { _, err := election.Set(ctx, tx, el); return err })
	cfg := api.DefaultConfig()
	cfg.Election = election.NewLive(el)
	cfg.Validator = store.LiveModelValidator(cfg.Election.Rules)
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Keys = auth.NewKeySet()
	var srv *api.Server
	var issuer *auth.Issuer
	if err == nil {
		issuer, err = auth.NewIssuer(cfg.Keys, cfg.AccessTTL)
	}
	if err == nil {
		srv, err = api.New(ctx, st, cfg)
	}
	if err == nil {
		err = srv.Listen("127.0.0.1:0")
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	go srv.Serve()
	e := &fieldEnv{dir: dir, st: st, srv: srv, issuer: issuer}
	for _, u := range []accounts.NewUser{
		{Name: fieldUser, Role: store.RoleRegistrar, Districts: []string{district}, Password: fieldPassword},
		{Name: fieldPushUser, Role: store.RoleRegistrar, Districts: []string{fieldPushDistrict}, Password: fieldPassword},
	} {
		if _, err := accounts.Add(ctx, st, u); err != nil {
			e.close()
			return nil, err
		}
	}
	if err := seed(ctx, st, n); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *fieldEnv) close() {
	e.srv.Close()
	e.st.Close()
}

// seed stores n registrations as one device's pushes, straight into the
// store: what a county's devices would have sent.
func seed(ctx context.Context, st store.Store, n int) error {
	rng := rand.New(rand.NewPCG(3, 4))
	hlc := dsync.MakeHLC(time.Now().Add(-time.Hour).UnixMilli(), 0)
	for done := 0; done < n; {
		batch := make([]dsync.Change, 0, min(dsync.MaxPushBatch, n-done))
		for len(batch) < cap(batch) {
			done++
			hlc = hlc.Next()
			// Time-ordered IDs, as devices make them (UUIDv7).
			batch = append(batch, dsync.Change{ID: uuid.Must(uuid.NewV7()).String(), Device: "seed-device", Counter: uint64(done),
				Record: uuid.Must(uuid.NewV7()).String(), Type: model.TypeRegistration, District: district, Op: dsync.OpCreate,
				Set: model.Normalize(model.TypeRegistration, Registration(rng, done)), HLC: hlc})
		}
		res, err := store.Push(ctx, st, store.PushRequest{Device: "seed-device", Author: "seed", Changes: batch})
		if err != nil {
			return err
		}
		for _, r := range res {
			if r.Status != dsync.StatusApplied {
				return fmt.Errorf("seed: %s %s", r.Code, r.Reason)
			}
		}
	}
	return nil
}

// Counter is an http.RoundTripper that counts a device's requests.
type Counter struct {
	RT http.RoundTripper
	n  atomic.Int64
}

// NewCounter counts the requests of a transport of its own.
func NewCounter() *Counter { return &Counter{RT: http.DefaultTransport.(*http.Transport).Clone()} }

// RoundTrip counts r and sends it.
func (c *Counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.RT.RoundTrip(r)
}

// Requests is the number of requests sent so far.
func (c *Counter) Requests() int64 { return c.n.Load() }

// newFile names a new device file.
func (e *fieldEnv) newFile() string {
	return filepath.Join(e.dir, fmt.Sprintf("field-%d.db", e.n.Add(1)))
}

// device opens the device file at path reaching url, logged in as user.
func (e *fieldEnv) device(ctx context.Context, path, user, url string, rt http.RoundTripper, secrets sdk.SecretStore) (*sdk.Device, error) {
	d, err := sdk.Open(path, sdk.Options{ServerURL: url, HTTPClient: &http.Client{Transport: rt}, Secrets: secrets})
	if err != nil {
		return nil, err
	}
	if err := d.Login(ctx, user, fieldPassword); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// secrets is a device's secret store (sdk.SecretStore), in memory.
type secrets struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *secrets) Secret(name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[name], nil
}

func (s *secrets) SetSecret(name, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]string{}
	}
	s.m[name] = value
	return nil
}

func (e *fieldEnv) runLink(ctx context.Context, cfg FieldConfig, p LinkProfile, i int) (*LinkFigures, error) {
	link, err := StartLink(mustHost(e.srv.URL()), p)
	if err != nil {
		return nil, err
	}
	defer link.Close()
	lf := &LinkFigures{}
	bytesOf := func(fn func() error) (secs float64, down, up int64, err error) {
		d0, u0 := link.Bytes()
		start := time.Now()
		err = fn()
		secs = time.Since(start).Seconds()
		d1, u1 := link.Bytes()
		return secs, d1 - d0, u1 - u0, err
	}
	// Bootstrap: a new device of the district pulls everything.
	var boot *fielddevice.Result
	var down, up int64
	lf.BootstrapSeconds, down, up, err = bytesOf(func() (err error) {
		boot, err = e.deviceTask(ctx, cfg, fielddevice.TaskBootstrap, link.URL(), filepath.Join(e.dir, fmt.Sprintf("boot-%d.db", i)))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	lf.BootstrapRecords, lf.BootstrapBytes, lf.Cuts = boot.Records, down+up, link.Cuts()
	lf.BootstrapSeconds = boot.Seconds // the device's own clock: sign-in excluded
	if boot.Records > 0 {
		lf.BootstrapBytesPerRecord = float64(lf.BootstrapBytes) / float64(boot.Records)
	}

	// Push: a registrar of an empty district sends what they typed offline.
	rt := NewCounter()
	keys := &secrets{}
	path := e.newFile()
	d, err := e.device(ctx, path, fieldPushUser, link.URL(), rt, keys)
	if err != nil {
		return nil, err
	}
	defer func() { d.Close() }()
	if _, err := d.Sync(ctx); err != nil { // learns its rules
		return nil, fmt.Errorf("first sync: %w", err)
	}
	rng := rand.New(rand.NewPCG(uint64(i), 5))
	ids := make([]string, cfg.Push)
	for j := range ids {
		if ids[j], err = d.Create(model.TypeRegistration, fieldPushDistrict, Registration(rng, j)); err != nil {
			return nil, err
		}
	}
	var rep sdk.SyncReport
	lf.PushSeconds, down, up, err = bytesOf(func() (err error) {
		rep, err = d.Push(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	lf.PushRecords, lf.PushBytes, lf.PushUpBytes = rep.Pushed[dsync.StatusApplied], down+up, up
	// An edit of each, then one Sync: what comes back down.
	for j, id := range ids {
		if err := d.Update(id, map[string]json.RawMessage{"voter_group": json.RawMessage(fmt.Sprintf(`"第%d选民小组"`, 1+j%12))}); err != nil {
			return nil, err
		}
	}
	if _, err := d.Pull(ctx); err != nil { // the pushed records, before the edits' sync
		return nil, err
	}
	lf.EditSyncSeconds, lf.EditSyncDownBytes, lf.EditSyncUpBytes, err = bytesOf(func() error {
		_, err := d.Sync(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("edit sync: %w", err)
	}
	// A one-record sync on the open connection.
	if _, err := d.Create(model.TypeRegistration, fieldPushDistrict, Registration(rng, cfg.Push+1)); err != nil {
		return nil, err
	}
	before := rt.Requests()
	start := time.Now()
	if _, err := d.Sync(ctx); err != nil {
		return nil, fmt.Errorf("small sync: %w", err)
	}
	lf.SmallSyncSeconds = time.Since(start).Seconds()
	lf.SmallSyncRoundTrips = int(rt.Requests() - before)

	if err := e.conflictSync(ctx, lf, d, rt, link, ids); err != nil {
		return nil, err
	}
	// The app started again an hour later: its access token expired. (The
	// server's clock is not moved: it holds a token issued an hour ago.)
	if err := e.expireAccess(d, keys); err != nil {
		return nil, err
	}
	d.Close()
	later := func() time.Time { return time.Now().Add(time.Hour) }
	if d, err = sdk.Open(path, sdk.Options{ServerURL: link.URL(), HTTPClient: &http.Client{Transport: rt}, Secrets: keys,
		Now: later}); err != nil {
		return nil, err
	}
	before, start = rt.Requests(), time.Now()
	if _, err := d.Sync(ctx); err != nil {
		return nil, fmt.Errorf("sync after the token expired: %w", err)
	}
	lf.ExpiredSyncSeconds = time.Since(start).Seconds()
	lf.ExpiredSyncRequests = int(rt.Requests() - before)
	return lf, nil
}

// conflictSync measures an empty sync on a device holding thousands of
// open conflicts: another device edits the name and phone of every record
// of ids, then d edits them too, unaware, and syncs.
func (e *fieldEnv) conflictSync(ctx context.Context, lf *LinkFigures, d *sdk.Device, rt *Counter, link *Link, ids []string) error {
	if err := e.editElsewhere(ctx, ids); err != nil {
		return fmt.Errorf("edits elsewhere: %w", err)
	}
	for j, id := range ids {
		if err := d.Update(id, map[string]json.RawMessage{"name": json.RawMessage(fmt.Sprintf(`"登记员%d"`, j)),
			"phone": json.RawMessage(fmt.Sprintf(`"139%08d"`, j))}); err != nil {
			return err
		}
	}
	if _, err := d.Sync(ctx); err != nil {
		return fmt.Errorf("conflicting sync: %w", err)
	}
	cs, err := d.Conflicts()
	if err != nil {
		return err
	}
	lf.ConflictSyncOpen = len(cs)
	before := rt.Requests()
	d0, u0 := link.Bytes()
	start := time.Now()
	if _, err := d.Sync(ctx); err != nil {
		return fmt.Errorf("sync with conflicts open: %w", err)
	}
	lf.ConflictSyncSeconds = time.Since(start).Seconds()
	d1, u1 := link.Bytes()
	lf.ConflictSyncRequests, lf.ConflictSyncBytes = int(rt.Requests()-before), d1-d0+u1-u0
	return nil
}

// editElsewhere changes the name and phone of each record from another
// device of the pushing registrar, reaching the server directly.
func (e *fieldEnv) editElsewhere(ctx context.Context, ids []string) error {
	other, err := e.device(ctx, e.newFile(), fieldPushUser, e.srv.URL(), http.DefaultTransport.(*http.Transport).Clone(), nil)
	if err != nil {
		return err
	}
	defer other.Close()
	if _, err := other.Sync(ctx); err != nil {
		return err
	}
	for j, id := range ids {
		if err := other.Update(id, map[string]json.RawMessage{"name": json.RawMessage(fmt.Sprintf(`"站点%d"`, j)),
			"phone": json.RawMessage(fmt.Sprintf(`"137%08d"`, j))}); err != nil {
			return err
		}
	}
	_, err = other.Sync(ctx)
	return err
}

// expireAccess puts in the device's secret store an access token the
// server issued for it an hour ago, long expired.
func (e *fieldEnv) expireAccess(d *sdk.Device, keys *secrets) error {
	tok, _, err := e.issuer.IssueGrant(auth.Grant{User: fieldPushUser, Device: d.ID(), Role: string(store.RoleRegistrar),
		At: time.Now().Add(-time.Hour)})
	if err != nil {
		return err
	}
	return keys.SetSecret("access_token", tok) // the name the SDK keeps it under
}

func mustHost(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		panic(err)
	}
	return p.Host
}

// deviceTask runs a device task, in a process of its own if cfg says so.
func (e *fieldEnv) deviceTask(ctx context.Context, cfg FieldConfig, task, url, file string) (*fielddevice.Result, error) {
	if len(cfg.DeviceCommand) == 0 {
		return fielddevice.Run(ctx, task, url, file)
	}
	args := append(cfg.DeviceCommand[1:len(cfg.DeviceCommand):len(cfg.DeviceCommand)],
		"--task", task, "--url", url, "--file", file)
	cmd := exec.CommandContext(ctx, cfg.DeviceCommand[0], args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("device process: %w: %s", err, stderr.String())
	}
	var r fielddevice.Result
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("device process answer: %w", err)
	}
	if r.Error != "" {
		return &r, errors.New(r.Error)
	}
	return &r, nil
}
