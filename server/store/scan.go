package store

import (
	"errors"
	"runtime"
	"sync"

	dsync "github.com/dengji/dengji/sync"
)

// scanChunk is how many stored records DecodeAll hands a decoder at once.
const scanChunk = 1024

// errScanStopped ends a scan after fn failed.
var errScanStopped = errors.New("store: scan stopped")

// DecodeAll reads every record of a type ("" for all) with tx.ScanRecords
// and decodes them on every core, calling fn with batches of them from
// several goroutines at once and in no particular order: the bulk read of
// a duplicate check or a tally, where decoding, not reading, costs most.
// The first error fn returns ends the scan and is returned. A record no
// decoder reads is skipped and named in the *UnreadableError returned at
// the end.
func DecodeAll(tx SyncTx, typ string, fn func([]dsync.Record) error) error {
	type raw struct {
		id   string
		data []byte
	}
	chunks := make(chan []raw, runtime.GOMAXPROCS(0))
	var mu sync.Mutex
	var failed error
	var unreadable []string
	fail := func(err error) {
		mu.Lock()
		if failed == nil {
			failed = err
		}
		mu.Unlock()
	}
	stopped := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return failed != nil
	}
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for chunk := range chunks {
				if stopped() {
					continue // drain
				}
				recs := make([]dsync.Record, 0, len(chunk))
				var bad []string
				for _, c := range chunk {
					var r dsync.Record
					if err := DecodeRecord(c.data, &r); err != nil {
						bad = append(bad, c.id)
						continue
					}
					if typ == "" || r.Type == typ {
						recs = append(recs, r)
					}
				}
				if bad != nil {
					mu.Lock()
					unreadable = append(unreadable, bad...)
					mu.Unlock()
				}
				if err := fn(recs); err != nil {
					fail(err)
				}
			}
		})
	}
	chunk := make([]raw, 0, scanChunk)
	err := tx.ScanRecords(typ, func(id string, data []byte) error {
		if stopped() {
			return errScanStopped
		}
		chunk = append(chunk, raw{id, data})
		if len(chunk) == scanChunk {
			chunks <- chunk
			chunk = make([]raw, 0, scanChunk)
		}
		return nil
	})
	if err == nil && len(chunk) > 0 {
		chunks <- chunk
	}
	close(chunks)
	wg.Wait()
	switch {
	case failed != nil:
		return failed
	case err != nil:
		return err
	case unreadable != nil:
		return &UnreadableError{IDs: unreadable}
	}
	return nil
}
