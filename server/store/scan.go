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
// one it cannot read; it must not keep data, whose buffer is reused.
//
// Records are copied into chunks of scanChunk, each one buffer that
// comes back for the next chunk once decoded: a province's scan is ten
// million records, which copied one allocation each were 9 GB of fresh
// memory for the collector to reclaim and the kernel to fault in.
func Scan[T any](tx SyncTx, typ string, decode func(data []byte) (T, bool, error), fn func([]T) error) error {
	workers := runtime.GOMAXPROCS(0)
	chunks := make(chan *scanBuf, workers)
	free := make(chan *scanBuf, 2*workers+1) // every buffer there can be: queued, decoding, filling
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
	for range workers {
		wg.Go(func() {
			for c := range chunks {
				if !stopped() { // else drain
					out := make([]T, 0, len(c.ends))
					var bad []string
					for i := range c.ends {
						id, data := c.record(i)
						v, ok, err := decode(data)
						if err != nil {
							bad = append(bad, string(id))
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
				c.reset()
				free <- c
			}
		})
	}
	next := func() *scanBuf {
		select {
		case c := <-free:
			return c
		default:
			return new(scanBuf)
		}
	}
	c := next()
	err := tx.ScanRecords(typ, func(id, data []byte) error {
		if stopped() {
			return errScanStopped
		}
		c.add(id, data)
		if len(c.ends) == scanChunk {
			chunks <- c
			c = next()
		}
		return nil
	})
	if err == nil && len(c.ends) > 0 {
		chunks <- c
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

// scanBuf is a chunk of stored records copied into one buffer: each
// record's ID then its data, ends[i] where record i's data ends and idLen
// its ID's length.
type scanBuf struct {
	b     []byte
	ends  []int
	idLen []int
}

func (c *scanBuf) add(id, data []byte) {
	c.b = append(append(c.b, id...), data...)
	c.ends = append(c.ends, len(c.b))
	c.idLen = append(c.idLen, len(id))
}

func (c *scanBuf) record(i int) (id, data []byte) {
	start := 0
	if i > 0 {
		start = c.ends[i-1]
	}
	rec := c.b[start:c.ends[i]:c.ends[i]]
	return rec[:c.idLen[i]], rec[c.idLen[i]:]
}

func (c *scanBuf) reset() {
	c.b, c.ends, c.idLen = c.b[:0], c.ends[:0], c.idLen[:0]
}
