package sdk

import (
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// pace chooses how hard a push batch is gzip'd: as hard as the link gives
// the device time for. The next batch is compressed while the last one is
// on the wire, so compressing costs no time while it takes less than the
// link does, and the best level saves a sixth of the bytes over the fastest
// (BenchmarkPushWire: 67 against 80 a record) for eight times the CPU.
// Over EDGE a batch of 1,000 is seconds on the wire and the best level
// always pays; on a station's LAN it is a few milliseconds, less than the
// best level takes, and compressing harder would only spend the battery.
type pace struct {
	mu   sync.Mutex
	fast bool    // the link took less time than the best level would
	best float64 // seconds the best level took a byte of input, last measured
	in   int     // input bytes of the batch compressed last
}

// compress gzips a push body at the level the link calls for.
func (p *pace) compress(b []byte) ([]byte, error) {
	p.mu.Lock()
	level := gzip.BestCompression
	if p.fast {
		level = gzip.BestSpeed
	}
	p.mu.Unlock()
	start := time.Now()
	out, err := gzipBody(b, level)
	p.mu.Lock()
	defer p.mu.Unlock()
	if level == gzip.BestCompression && len(b) > 0 {
		p.best = time.Since(start).Seconds() / float64(len(b))
	}
	p.in = len(b)
	return out, err
}

// sent takes the link's time for a batch just answered: its round trip
// less the time the server said it worked on it. A server that does not
// say leaves its time counted as the link's, which keeps the best level.
// The fastest level holds until the link takes twice what the best level
// would: a round trip slowed by a busy phone does not flip it back and
// forth.
func (p *pace) sent(link time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	best := p.best * float64(p.in)
	if p.fast {
		best *= 2
	}
	p.fast = link.Seconds() < best
}

// serverTiming reads the server's time from a Server-Timing header
// ("app;dur=12.5", milliseconds), 0 if there is none.
func serverTiming(h http.Header) time.Duration {
	for _, metric := range strings.Split(h.Get("Server-Timing"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(metric), ";")
		if name != "app" {
			continue
		}
		for _, p := range strings.Split(params, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "dur="); ok {
				if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 {
					return time.Duration(ms * float64(time.Millisecond))
				}
			}
		}
	}
	return 0
}
