package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
)

// Limits bound what requests may cost the server, so that many slow or
// large ones degrade service (503, come back later) instead of exhausting
// memory or connections.
type Limits struct {
	// MaxInFlight is the most requests served at once. One more is answered
	// at once with 503 unavailable and Retry-After, never queued.
	MaxInFlight int
	// HeaderTimeout bounds the reading of a request's headers.
	HeaderTimeout time.Duration
	// A request body must make progress: at least MinBodyRate bytes a second
	// averaged over every BodyWindow (each BodyWindow·MinBodyRate bytes
	// received grant another BodyWindow), or the connection is closed. A
	// slow 2G upload of many minutes finishes; a sender that stalls does
	// not hold a connection for ever.
	BodyWindow  time.Duration
	MinBodyRate int64
	// SmallBody is how much of a body (decompressed) a request reads on
	// its own; reading more takes one of LargeBodies slots, so that at most
	// that many large bodies are held in memory at once. A request waits up
	// to LargeBodyWait for a slot (the body's progress clock stopped), then
	// is answered 503 with Retry-After.
	SmallBody     int64
	LargeBodies   int
	LargeBodyWait time.Duration
	// RetryAfter is what a 503 tells the client to wait.
	RetryAfter time.Duration
}

// DefaultLimits are a county server's: a few hundred devices, each
// syncing now and then, over links as slow as 2G.
func DefaultLimits() Limits {
	return Limits{
		MaxInFlight:   128,
		HeaderTimeout: 10 * time.Second,
		BodyWindow:    30 * time.Second,
		MinBodyRate:   1 << 10,
		SmallBody:     256 << 10,
		LargeBodies:   4,
		LargeBodyWait: 15 * time.Second,
		RetryAfter:    5 * time.Second,
	}
}

// Validate reports a limit that cannot work.
func (l Limits) Validate() error {
	switch {
	case l.MaxInFlight < 1 || l.LargeBodies < 1:
		return errors.New("api: limits: requests in flight and large bodies must be at least 1")
	case l.HeaderTimeout <= 0 || l.BodyWindow <= 0 || l.MinBodyRate < 1:
		return errors.New("api: limits: header timeout, body window and minimum rate must be positive")
	case l.SmallBody < 4<<10:
		return errors.New("api: limits: small body under 4 KiB")
	}
	return nil
}

// limiter holds the counters behind Limits.
type limiter struct {
	Limits
	inFlight chan struct{}
	large    chan struct{}
}

func newLimiter(l Limits) *limiter {
	return &limiter{Limits: l, inFlight: make(chan struct{}, l.MaxInFlight),
		large: make(chan struct{}, l.LargeBodies)}
}

// errBusy means a request found no room (a large-body slot) in time.
var errBusy = errors.New("api: server busy")

// admit lets a request in if fewer than MaxInFlight are being served.
func (s *Server) admit(c *gin.Context) {
	c.Set(ctxRetryAfter, strconv.Itoa(max(int(s.lim.RetryAfter/time.Second), 1)))
	select {
	case s.lim.inFlight <- struct{}{}:
	default:
		fail(c, ErrUnavailable)
		return
	}
	defer func() { <-s.lim.inFlight }()
	c.Next()
}

const ctxRetryAfter = "dengji.retry_after"

// retryAfterSeconds is the Retry-After of a 503 answer.
func retryAfterSeconds(c *gin.Context) string {
	if s := c.GetString(ctxRetryAfter); s != "" {
		return s
	}
	return "5"
}

// bodyGuard enforces the body limits of one request: it wraps the body as it
// comes off the network (progress) and as the handler reads it,
// decompressed (memory).
type bodyGuard struct {
	lim   *limiter
	ctx   context.Context
	rc    *http.ResponseController
	quota int64 // bytes that grant another window
	got   int64 // bytes received in this window
	read  int64 // decompressed bytes handed to the handler
	held  bool  // a large-body slot
	done  bool
}

func newBodyGuard(c *gin.Context, lim *limiter) *bodyGuard {
	g := &bodyGuard{lim: lim, ctx: c.Request.Context(), rc: http.NewResponseController(c.Writer),
		quota: lim.MinBodyRate * int64(lim.BodyWindow/time.Second)}
	g.quota = max(g.quota, 1)
	g.window()
	return g
}

// window starts a new progress window.
func (g *bodyGuard) window() {
	g.got = 0
	g.rc.SetReadDeadline(time.Now().Add(g.lim.BodyWindow))
}

// finish lifts the deadline once the whole body is read: the handler's own
// work is not the client's to hurry.
func (g *bodyGuard) finish() {
	if !g.done {
		g.done = true
		g.rc.SetReadDeadline(time.Time{})
	}
}

// release gives back the large-body slot, after the handler.
func (g *bodyGuard) release() {
	if g.held {
		g.held = false
		<-g.lim.large
	}
}

// acquire takes a large-body slot, waiting at most LargeBodyWait; the
// progress clock stops meanwhile.
func (g *bodyGuard) acquire() error {
	select {
	case g.lim.large <- struct{}{}:
		g.held = true
		return nil
	default:
	}
	g.rc.SetReadDeadline(time.Time{})
	t := time.NewTimer(g.lim.LargeBodyWait)
	defer t.Stop()
	select {
	case g.lim.large <- struct{}{}:
		g.held = true
		g.window()
		return nil
	case <-t.C:
		g.window() // for what net/http still reads of the body
		return errBusy
	case <-g.ctx.Done():
		g.window()
		return g.ctx.Err()
	}
}

// wire is the body as it comes off the network.
type wire struct {
	g *bodyGuard
	io.ReadCloser
}

func (w wire) Read(b []byte) (int, error) {
	n, err := w.ReadCloser.Read(b)
	if w.g.got += int64(n); w.g.got >= w.g.quota && err == nil {
		w.g.window()
	}
	if err == io.EOF {
		w.g.finish()
	}
	// On any other error the deadline stays: what net/http reads of the
	// body after the handler must not wait on a stalled sender either.
	return n, err
}

// held is the body as the handler reads it.
type held struct {
	g *bodyGuard
	io.ReadCloser
}

func (h held) Read(b []byte) (int, error) {
	if g := h.g; !g.held && g.read+int64(len(b)) > g.lim.SmallBody {
		if room := g.lim.SmallBody - g.read; room > 0 {
			b = b[:room] // what fits before a slot is needed
		} else if err := g.acquire(); err != nil {
			return 0, err
		}
	}
	n, err := h.ReadCloser.Read(b)
	h.g.read += int64(n)
	return n, err
}
