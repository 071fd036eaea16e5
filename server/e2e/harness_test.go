package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	sdk "github.com/dengji/dengji/client-sdk"
	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/api"
	"github.com/dengji/dengji/server/auth"
	"github.com/dengji/dengji/server/bench"
	"github.com/dengji/dengji/server/election"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore"
	dsync "github.com/dengji/dengji/sync"
)

var ctx = context.Background()

// electionDay is the day ages are checked against in these tests.
var electionDay = time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC)

type server struct {
	*api.Server
	st    store.Store
	dir   string
	front string // where devices reach it, if not its own listener (a proxy)
}

// deviceURL is the URL devices are given: the server's, or the front's.
func (s *server) deviceURL() string {
	if s.front != "" {
		return s.front
	}
	return s.URL()
}

func startServer(t *testing.T) *server { t.Helper(); return startServerWith(t, nil) }

// startServerWith starts a server whose configuration set may change.
func startServerWith(t *testing.T, set func(*api.Config)) *server {
	t.Helper()
	dir := t.TempDir()
	st, err := boltstore.Open(filepath.Join(dir, "server"))
	if err != nil {
		t.Fatal(err)
	}
	return serveStore(t, st, dir, nil, set)
}

// serveStore starts a server on st (closed with it), its devices' files
// in dir; keys sign its tokens (nil: keys of its own); set, if not nil,
// changes its configuration.
func serveStore(t *testing.T, st store.Store, dir string, keys *auth.KeySet, set func(*api.Config)) *server {
	t.Helper()
	// The election is data, as a county server keeps it: devices learn its
	// day at their first sync.
	e := model.Election{Name: "e2e", Day: electionDay.Format(time.DateOnly)}
	if err := st.Update(ctx, func(tx store.Tx) error { _, err := election.Set(ctx, tx, e); return err }); err != nil {
		t.Fatal(err)
	}
	cfg := api.DefaultConfig()
	cfg.Election = election.NewLive(e)
	cfg.Validator = store.LiveModelValidator(cfg.Election.Rules)
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Keys = keys
	if set != nil {
		set(&cfg)
	}
	srv, err := api.New(ctx, st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { srv.Close(); st.Close() })
	return &server{Server: srv, st: st, dir: dir}
}

func (s *server) addUser(t *testing.T, name string, role store.Role, districts ...string) {
	t.Helper()
	_, err := accounts.Add(ctx, s.st, accounts.NewUser{Name: name, Role: role, Districts: districts, Password: name + "-password"})
	if err != nil {
		t.Fatal(err)
	}
}

// device opens a device file for user and logs it in against url (the
// server's, or a proxy's in front of it).
func (s *server) device(t *testing.T, user, url string, opts sdk.Options) *sdk.Device {
	t.Helper()
	opts.ServerURL = url
	if opts.BackoffBase == 0 {
		opts.BackoffBase = time.Millisecond
	}
	d, err := sdk.Open(filepath.Join(s.dir, fmt.Sprintf("%s-%d.db", user, time.Now().UnixNano())), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Login(ctx, user, user+"-password"); err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return d
}

func (s *server) record(t *testing.T, id string) *dsync.Record {
	t.Helper()
	var rec *dsync.Record
	if err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		rec, err = tx.Record(id)
		return err
	}); err != nil {
		t.Fatalf("server record %s: %v", id, err)
	}
	return rec
}

func (s *server) conflicts(t *testing.T) []dsync.Conflict {
	t.Helper()
	var cs []dsync.Conflict
	s.st.View(ctx, func(tx store.Tx) error {
		var err error
		cs, err = tx.Conflicts(store.ConflictQuery{})
		return err
	})
	return cs
}

func mustSync(t *testing.T, d *sdk.Device) sdk.SyncReport {
	t.Helper()
	rep, err := d.Sync(ctx)
	if err != nil {
		t.Fatalf("sync %s: %v", d.ID(), err)
	}
	return rep
}

// registration is a valid registration's fields, deterministic in seed.
func registration(seed uint64) map[string]json.RawMessage {
	return bench.Registration(rand.New(rand.NewPCG(seed, 99)), int(seed))
}

func str(s string) json.RawMessage { b, _ := json.Marshal(s); return b }

// state is what a device or the server holds of one record, for comparing.
type state struct {
	deleted bool
	values  map[string]json.RawMessage
}

func stateOf(r *dsync.Record) state {
	vals := r.Values()
	for k, v := range vals {
		var c bytes.Buffer
		json.Compact(&c, v)
		vals[k] = c.Bytes()
	}
	return state{deleted: r.Deleted(), values: vals}
}

func (a state) equal(b state) bool {
	return a.deleted == b.deleted && maps.EqualFunc(a.values, b.values, func(x, y json.RawMessage) bool { return bytes.Equal(x, y) })
}

// deviceStates reads every record a device holds, tombstones included.
func deviceStates(t *testing.T, d *sdk.Device) map[string]state {
	t.Helper()
	recs, err := d.List(sdk.ListFilter{IncludeDeleted: true})
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]state, len(recs))
	for _, r := range recs {
		out[r.ID] = stateOf(r)
	}
	return out
}

func accountsRevoke(s *server, device string) error { return accounts.Revoke(ctx, s.st, device) }
