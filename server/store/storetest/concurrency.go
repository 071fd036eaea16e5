package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// testConcurrentSamePush: two goroutines (two servers, for a SQL backend
// with a pool) push the same batch at once. Each change is applied exactly
// once: one push answers it applied, the other duplicate with the same
// sequence number, and the feed holds each record once.
func testConcurrentSamePush(t *testing.T, s store.Store) {
	a := &dev{id: "A"}
	var batch []dsync.Change
	for i := range 40 {
		batch = append(batch, a.change(dsync.OpCreate, nil, fmt.Sprintf("r%02d", i), fmt.Sprintf("d%d", i%2),
			map[string]string{"name": fmt.Sprintf(`"%d"`, i)}))
	}
	var results [2][]dsync.Result
	var errs [2]error
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			results[g], errs[g] = store.Push(ctx, s, store.PushRequest{Device: "A", Author: "u-A", Changes: batch})
		})
	}
	wg.Wait()
	for g, err := range errs {
		if err != nil {
			t.Fatalf("push %d: %v", g, err)
		}
	}
	for i := range batch {
		x, y := results[0][i], results[1][i]
		pair := []dsync.Status{x.Status, y.Status}
		slices.Sort(pair)
		if !slices.Equal(pair, []dsync.Status{dsync.StatusApplied, dsync.StatusDuplicate}) || x.Seq != y.Seq {
			t.Fatalf("change %d answered %+v and %+v, want applied once and duplicate with one sequence", i, x, y)
		}
	}
	var high uint64
	s.View(ctx, func(tx store.Tx) error { high, _ = tx.HighSeq(); return nil })
	recs, page := pull(t, s, nil, 0, 100)
	if high != uint64(len(batch)) || len(recs) != len(batch) || page.More {
		t.Fatalf("high sequence %d, %d records in the feed; want %d of each", high, len(recs), len(batch))
	}
}

// testFeedVisibility: a change that took a lower sequence number in a
// transaction still open when a pull runs is not skipped once it commits.
// A backend that let a second writer take and commit a higher number
// meanwhile would show it to the pull, whose cursor would then pass the
// lower one for good. (The wait for the second push is no assertion on
// time: it only gives a wrong backend the chance to be wrong.)
func testFeedVisibility(t *testing.T, s store.Store) {
	// holding has room for the first attempt's signal: unbuffered, a
	// writer reaching its select before this goroutine waited would take
	// the default and the test would wait for ever (it did, now and then).
	holding, release := make(chan struct{}, 1), make(chan struct{})
	low := make(chan error, 1)
	go func() {
		low <- s.Update(ctx, func(tx store.Tx) error {
			seq, err := tx.NextSeq()
			if err != nil {
				return err
			}
			rec := &dsync.Record{ID: "r-low", Type: "registration", District: "d1", Seq: seq,
				Fields: map[string]dsync.Field{"name": {Value: json.RawMessage(`"low"`), Version: "c-low"}}}
			if err := tx.PutRecord(rec, 0); err != nil {
				return err
			}
			select {
			case holding <- struct{}{}:
			default: // a retried attempt: the test already goes on
			}
			<-release
			return nil
		})
	}()
	<-holding
	a := &dev{id: "A"}
	high := make(chan error, 1)
	go func() {
		_, err := store.Push(ctx, s, store.PushRequest{Device: "A", Changes: []dsync.Change{
			a.change(dsync.OpCreate, nil, "r-high", "d1", map[string]string{"name": `"high"`})}})
		high <- err
	}()
	select {
	case err := <-high: // a backend whose writers do not wait for each other
		high <- err
	case <-time.After(300 * time.Millisecond):
	}
	seen := map[string]bool{}
	first, page := pull(t, s, []string{"d1"}, 0, 100)
	for _, r := range first {
		seen[r.ID] = true
	}
	close(release)
	for _, ch := range []chan error{low, high} {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
	later, _ := pull(t, s, []string{"d1"}, page.Cursor, 100)
	for _, r := range later {
		seen[r.ID] = true
	}
	if !seen["r-low"] || !seen["r-high"] {
		t.Fatalf("a pull during the open transaction (cursor %d, %d records) and the next one saw %v: a change was skipped",
			page.Cursor, len(first), seen)
	}
}
