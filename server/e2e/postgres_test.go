package e2e

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/dengji/dengji/server/auth"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/pgstore"
	"github.com/dengji/dengji/server/store/pgstore/pgtest"
)

// TestE2E_TwoServersOneDatabase: two servers, each with a pool of its own,
// on one PostgreSQL database, behind a front that sends each request to
// the next server in turn, so every device's pushes, pulls, sign-ins and
// refreshes alternate between them while the devices edit offline. The
// randomized convergence test must hold as on one server (every change
// made acknowledged, every device holding the server's state), every
// change must be in the log once, and every conflict stored once.
func TestE2E_TwoServersOneDatabase(t *testing.T) {
	dbURL := pgtest.URL(t)
	keys := auth.NewKeySet() // the servers' shared signing keys
	dir := t.TempDir()
	a := serveStore(t, openPG(t, dbURL), dir, keys, nil)
	b := serveStore(t, openPG(t, dbURL), dir, keys, nil)
	front, served := alternate(t, a.URL(), b.URL())
	a.front = front
	convergence(t, a)
	if served[0].Load() == 0 || served[1].Load() == 0 {
		t.Fatalf("requests served: %d and %d; both servers must take part", served[0].Load(), served[1].Load())
	}
	seen := map[string]uint64{}
	err := b.st.View(ctx, func(tx store.Tx) error {
		high, err := tx.HighSeq()
		for seq := uint64(1); err == nil && seq <= high; seq++ {
			ch, err := tx.ChangeBySeq(seq)
			if err != nil {
				return err
			}
			if first, dup := seen[ch.ID]; dup {
				t.Errorf("change %s is in the log at %d and %d: applied twice", ch.ID, first, seq)
			}
			seen[ch.ID] = seq
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	type side struct{ record, field, kept, other string }
	stored := map[side]bool{}
	for _, c := range b.conflicts(t) {
		k := side{c.Record, c.Field, c.Kept.Change, c.Other.Change}
		if stored[k] {
			t.Errorf("conflict stored twice: %+v", k)
		}
		stored[k] = true
	}
	t.Logf("%d changes in the log, %d conflicts; requests %d and %d", len(seen), len(stored), served[0].Load(), served[1].Load())
}

// TestE2E_RandomizedConvergencePostgres is the randomized convergence test
// on one server over PostgreSQL.
func TestE2E_RandomizedConvergencePostgres(t *testing.T) {
	convergence(t, serveStore(t, openPG(t, pgtest.URL(t)), t.TempDir(), nil, nil))
}

// openPG opens a store with a pool of its own on the database at u; the
// server using it closes it.
func openPG(t *testing.T, u string) store.Store {
	t.Helper()
	st, err := pgstore.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// alternate is a front (a load balancer) on loopback that sends each
// request to the next of backends in turn; served counts each one's.
func alternate(t *testing.T, backends ...string) (string, []atomic.Int64) {
	t.Helper()
	var next atomic.Uint64
	served := make([]atomic.Int64, len(backends))
	proxies := make([]*httputil.ReverseProxy, len(backends))
	for i, b := range backends {
		u, err := url.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		proxies[i] = httputil.NewSingleHostReverseProxy(u)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(next.Add(1) % uint64(len(backends)))
		served[i].Add(1)
		proxies[i].ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, served
}
