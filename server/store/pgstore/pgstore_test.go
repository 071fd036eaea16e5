package pgstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/pgstore"
	"github.com/dengji/dengji/server/store/pgstore/pgtest"
	"github.com/dengji/dengji/server/store/storetest"
	dsync "github.com/dengji/dengji/sync"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return pgtest.Open(t) })
}

// BenchmarkPush measures the server's side of a push alone on PostgreSQL
// (storetest.BenchPush).
func BenchmarkPush(b *testing.B) {
	storetest.BenchPush(b, pgtest.Open(b))
}

// TestView_LongReadDoesNotBlockPush: a push commits while a read
// transaction (an export, a duplicate check's scan) stays open, and the
// read keeps its snapshot: it does not see the push. (The 30 s is a
// deadlock's bound, not a timing assertion.)
func TestView_LongReadDoesNotBlockPush(t *testing.T) {
	st := pgtest.Open(t)
	pushed := make(chan error, 1)
	err := st.View(context.Background(), func(tx store.Tx) error {
		if _, err := tx.HighSeq(); err != nil { // the snapshot is taken here
			return err
		}
		go func() {
			_, err := store.Push(context.Background(), st, store.PushRequest{Device: "A", Changes: []dsync.Change{{
				ID: "c1", Device: "A", Counter: 1, Record: "r1", Type: "registration", District: "d1", Op: dsync.OpCreate,
				Set: map[string]json.RawMessage{"name": json.RawMessage(`"x"`)}}}})
			pushed <- err
		}()
		select {
		case err := <-pushed:
			if err != nil {
				return err
			}
		case <-time.After(30 * time.Second):
			t.Fatal("a push waited for an open read transaction")
		}
		if _, err := tx.Record("r1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the read saw a push committed after its snapshot: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestConformance_TwoServers runs the suite against two stores, each with
// a pool of its own, on one database, as two servers are: Updates go to
// each in turn, so the suite's concurrent cases (one batch pushed twice at
// once, a pull during an open transaction) meet across the two, where
// only the database's lock stands between them.
func TestConformance_TwoServers(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		u := pgtest.URL(t)
		var two twoServers
		for i := range two.s {
			st, err := pgstore.Open(context.Background(), u)
			if err != nil {
				t.Fatal(err)
			}
			two.s[i] = st
		}
		return &two
	})
}

type twoServers struct {
	s    [2]*pgstore.Store
	next atomic.Uint32
}

func (t *twoServers) pick() *pgstore.Store { return t.s[t.next.Add(1)%2] }

func (t *twoServers) Update(ctx context.Context, fn func(store.Tx) error) error {
	return t.pick().Update(ctx, fn)
}

func (t *twoServers) View(ctx context.Context, fn func(store.Tx) error) error {
	return t.pick().View(ctx, fn)
}

func (t *twoServers) Close() error {
	t.s[0].Close()
	return t.s[1].Close()
}

// TestLocks_PerSchema: advisory locks belong to the whole database, so
// their keys name the schema: two stores in two schemas of one database
// (two provinces, or two tests) neither share the duplicate check's run
// lock nor wait for each other's writers. (The 30 s is a deadlock's bound,
// not a timing assertion.)
func TestLocks_PerSchema(t *testing.T) {
	a, b := pgtest.Open(t), pgtest.Open(t)
	unlock, ok, err := a.TryLock(context.Background(), "dedup")
	if err != nil || !ok {
		t.Fatalf("run lock in schema a: %v %v", ok, err)
	}
	defer unlock()
	if unlockB, ok, err := b.TryLock(context.Background(), "dedup"); err != nil || !ok {
		t.Fatalf("schema b's run lock was taken by schema a's: %v %v", ok, err)
	} else {
		unlockB()
	}
	release, pushed := make(chan struct{}), make(chan error, 1)
	go a.Update(context.Background(), func(store.Tx) error { <-release; return nil }) // a writer of a holds its lock
	defer close(release)
	go func() {
		_, err := store.Push(context.Background(), b, store.PushRequest{Device: "B", Changes: []dsync.Change{{
			ID: "c1", Device: "B", Counter: 1, Record: "r1", Type: "registration", District: "d1", Op: dsync.OpCreate,
			Set: map[string]json.RawMessage{"name": json.RawMessage(`"x"`)}}}})
		pushed <- err
	}()
	select {
	case err := <-pushed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a push in schema b waited for a writer in schema a")
	}
}
