package bench

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// LinkProfile is a network link as a registrar's phone has it: a round trip,
// a bandwidth cap each way, and, on a bad link, every connection reset
// after a while.
type LinkProfile struct {
	Name string
	RTT  time.Duration // round trip: half of it each way
	Down int           // bytes per second, server to device
	Up   int           // bytes per second, device to server
	// CutMin and CutMax, if set, reset every connection after a random time
	// between them (drawn from Seed).
	CutMin, CutMax time.Duration
	Seed           uint64
}

// The links of the field benchmark.
var (
	LinkEDGE     = LinkProfile{Name: "edge", RTT: 300 * time.Millisecond, Down: 200_000 / 8, Up: 100_000 / 8}
	LinkEDGECuts = LinkProfile{Name: "edge_cuts", RTT: 300 * time.Millisecond, Down: 200_000 / 8, Up: 100_000 / 8,
		CutMin: 5 * time.Second, CutMax: 30 * time.Second, Seed: 1}
	Link3G = LinkProfile{Name: "3g", RTT: 150 * time.Millisecond, Down: 1_000_000 / 8, Up: 384_000 / 8}
)

// Link is a TCP proxy on loopback that emulates a LinkProfile in front of a
// server: a device connects to it instead of the server. Bandwidth is shared
// by every connection of the link, as a phone's radio is; each chunk of
// data arrives after it has been sent at the link's rate and has travelled
// half the round trip. It is the benchmark's own (a few dozen lines) rather
// than Toxiproxy, which runs as a separate daemon.
type Link struct {
	p      LinkProfile
	ln     net.Listener
	target string

	down, up dirState
	cuts     atomic.Int64 // connections reset
	conns    atomic.Int64 // connections opened

	mu   sync.Mutex
	rng  *rand.Rand
	open map[net.Conn]struct{}
	wg   sync.WaitGroup
}

// dirState is one direction's shaping: when the link is next free to send,
// and the bytes it carried.
type dirState struct {
	mu    sync.Mutex
	free  time.Time
	bytes atomic.Int64
}

// StartLink listens on a free loopback port and forwards to target
// (host:port).
func StartLink(target string, p LinkProfile) (*Link, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	l := &Link{p: p, ln: ln, target: target, rng: rand.New(rand.NewPCG(p.Seed, 17)), open: map[net.Conn]struct{}{}}
	l.wg.Add(1)
	go l.accept()
	return l, nil
}

// URL is the base URL a device uses to reach the server through the link.
func (l *Link) URL() string { return "http://" + l.ln.Addr().String() }

// Bytes are the bytes carried so far, server to device and device to server.
func (l *Link) Bytes() (down, up int64) { return l.down.bytes.Load(), l.up.bytes.Load() }

// Cuts is the number of connections the link has reset.
func (l *Link) Cuts() int64 { return l.cuts.Load() }

// Conns is the number of connections opened through the link.
func (l *Link) Conns() int64 { return l.conns.Load() }

// Close stops the link and resets every connection through it.
func (l *Link) Close() error {
	err := l.ln.Close()
	l.mu.Lock()
	for c := range l.open {
		c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
	return err
}

func (l *Link) accept() {
	defer l.wg.Done()
	for {
		dev, err := l.ln.Accept()
		if err != nil {
			return
		}
		srv, err := net.Dial("tcp", l.target)
		if err != nil {
			dev.Close()
			continue
		}
		l.conns.Add(1)
		l.track(dev, srv)
		l.wg.Add(2)
		go l.pipe(dev, srv, &l.down, l.p.Down)
		go l.pipe(srv, dev, &l.up, l.p.Up)
		if l.p.CutMax > 0 {
			time.AfterFunc(l.cutAfter(), func() { l.cut(dev, srv) })
		}
	}
}

func (l *Link) track(cs ...net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range cs {
		l.open[c] = struct{}{}
	}
}

func (l *Link) cutAfter() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.p.CutMin + time.Duration(l.rng.Int64N(int64(l.p.CutMax-l.p.CutMin)+1))
}

// cut resets a connection on both sides, as a radio link dropping does: the
// device reads a reset, not an orderly end.
func (l *Link) cut(dev, srv net.Conn) {
	l.mu.Lock()
	_, live := l.open[dev]
	l.mu.Unlock()
	if !live {
		return
	}
	l.cuts.Add(1)
	for _, c := range []net.Conn{dev, srv} {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
}

// chunk is data on its way, due at the far end at due.
type chunk struct {
	b   []byte
	due time.Time
}

// pipe carries src to dst at rate bytes per second, half a round trip late.
func (l *Link) pipe(dst, src net.Conn, d *dirState, rate int) {
	defer l.wg.Done()
	// The link holds what is on the air: half a round trip's worth at its
	// rate, plus a little. Reading further ahead would book air time for
	// data a cut then throws away, and delay the next connection's.
	segs := rate*int(l.p.RTT/time.Millisecond)/2/1000/1460 + 4
	q := make(chan chunk, segs)
	go func() {
		defer func() {
			l.mu.Lock()
			delete(l.open, dst)
			delete(l.open, src)
			l.mu.Unlock()
			dst.Close()
		}()
		for c := range q {
			if wait := time.Until(c.due); wait > 0 {
				time.Sleep(wait)
			}
			// Counted before the write, so that a reader who has the
			// bytes finds them counted; what did not go out is taken back.
			d.bytes.Add(int64(len(c.b)))
			n, err := dst.Write(c.b)
			d.bytes.Add(int64(n - len(c.b)))
			if err != nil {
				for range q { // drain: the reader stops at its next read
				}
				return
			}
		}
	}()
	defer close(q)
	buf := make([]byte, 1460) // about a TCP segment
	for {
		n, err := src.Read(buf)
		if n > 0 {
			q <- chunk{b: append([]byte(nil), buf[:n]...), due: d.reserve(n, rate).Add(l.p.RTT / 2)}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				src.Close()
			}
			return
		}
	}
}

// reserve books n bytes on the direction's link and returns when they have
// been sent.
func (d *dirState) reserve(n, rate int) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	start := d.free
	if start.Before(now) {
		start = now
	}
	d.free = start.Add(time.Duration(n) * time.Second / time.Duration(rate))
	return d.free
}
