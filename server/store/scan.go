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
	return Scan(tx, typ, func(data []byte) (r dsync.Record, ok bool, err error) {
		err = DecodeRecord(data, &r)
		return r, err == nil && (typ == "" || r.Type == typ), err
	}, fn)
}

// Scan is DecodeAll with a decoder of the caller's, for a scan that needs
// a few fields of each record rather than all of them. decode returns
// ok=false for a record to leave out (of another type, say), an error for
// one it cannot read.
func Scan[T any](tx SyncTx, typ string, decode func(data []byte) (T, bool, error), fn func([]T) error) error {
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
				out := make([]T, 0, len(chunk))
				var bad []string
				for _, c := range chunk {
					v, ok, err := decode(c.data)
					if err != nil {
						bad = append(bad, c.id)
					} else if ok {
						out = append(out, v)
					}
				}
				if bad != nil {
					mu.Lock()
					unreadable = append(unreadable, bad...)
					mu.Unlock()
				}
				if err := fn(out); err != nil {
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
