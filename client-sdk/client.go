package sdk

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	json "github.com/dengji/dengji/internal/jsonx"
	dsync "github.com/dengji/dengji/sync"
	"go.etcd.io/bbolt"
)

// request is one API call.
type request struct {
	method string
	path   string // with query
	body   any    // JSON; nil for none
	raw    []byte // an already encoded JSON body, used instead of body
	zipped bool   // raw is already gzip'd
	gzip   bool   // compress the body
	auth   bool   // send the access token; refresh it once if expired
	bearer string // send this token instead (a password-change token)

	ifNoneMatch string  // a conditional GET: the ETag held
	etag        *string // if set, receives the answer's ETag
	notModified *bool   // if set, a 304 answer sets it instead of failing

	// once: one try; the caller handles transient failures itself.
	once bool
	// pathFunc, if set, gives the path (with query) of each try instead of
	// path.
	pathFunc func() (string, error)
	// stream, if set, reads a 2xx body instead of decoding it into out.
	// What it stored before an error counts as progress (see progress).
	stream func(io.Reader) error
	// progress, if set, counts what the request achieved (records
	// stored): a failed try that moved it does not count towards
	// MaxAttempts, so a link that drops often but moves still gets there.
	progress *atomic.Int64
	// header, if set, adds these headers to the request.
	header http.Header
	// serverTime, if set, receives how long the server said it worked on
	// the request (Server-Timing), 0 if it did not say.
	serverTime *time.Duration
}

// call makes an API request, retrying transient failures, and refreshes the
// access token before it expires, or once if the server says it expired.
func (d *Device) call(ctx context.Context, req request, out any) error {
	body, err := encodeBody(req.body, req.raw, req.gzip && !req.zipped)
	if err != nil {
		return err
	}
	if req.auth && d.accessExpiring() {
		if err := d.refresh(ctx); err != nil && !hasCode(err, CodeTokenExpired) {
			return err
		}
	}
	try := func() error { return d.retry(ctx, req.progress, func() error { return d.once(ctx, req, body, out) }) }
	if req.once {
		try = func() error { return d.once(ctx, req, body, out) }
	}
	err = try()
	if !req.auth || !hasCode(err, CodeTokenExpired) {
		return err
	}
	if err := d.refresh(ctx); err != nil {
		return err
	}
	return try()
}

func encodeBody(v any, raw []byte, compress bool) ([]byte, error) {
	b := raw
	if b == nil {
		if v == nil {
			return nil, nil
		}
		var err error
		if b, err = json.Marshal(v); err != nil {
			return nil, err
		}
	}
	if !compress {
		return b, nil
	}
	// The best compression: over EDGE the uplink (100 kbit/s) is the
	// bottleneck. (Pushes choose their level by the link: pace.go.)
	return gzipBody(b, gzip.BestCompression)
}

func gzipBody(b []byte, level int) ([]byte, error) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, level)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// retry runs fn until it succeeds, fails for good, or fails MaxAttempts
// times in a row without progress, waiting with exponential backoff and
// full jitter between tries.
func (d *Device) retry(ctx context.Context, progress *atomic.Int64, fn func() error) error {
	var last int64
	if progress != nil {
		last = progress.Load()
	}
	for attempt := 1; ; attempt++ {
		err := fn()
		moved := progress != nil && progress.Load() != last
		if moved {
			last, attempt = progress.Load(), 1 // it moved: start counting again
		}
		if err == nil || !retryable(ctx, err) || attempt >= d.opts.MaxAttempts {
			return err
		}
		if moved && !hasRetryAfter(err) {
			continue // a cut after progress: the link is there, go on at once
		}
		if err := sleep(ctx, d.backoff(attempt, err)); err != nil {
			return err
		}
	}
}

// hasRetryAfter reports whether the server asked for a wait.
func hasRetryAfter(err error) bool {
	var se *ServerError
	return errors.As(err, &se) && se.retryAfter > 0
}

func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var se *ServerError
	if errors.As(err, &se) {
		return se.retryable()
	}
	var te *transientError
	return errors.As(err, &te)
}

// transientError is a failure of the network or of a response body in
// transit: worth another try. kind names it: ErrNetwork, ErrTimeout or
// ErrCut.
type transientError struct {
	kind error
	err  error
}

func (e *transientError) Error() string   { return e.kind.Error() + ": " + e.err.Error() }
func (e *transientError) Unwrap() []error { return []error{e.kind, e.err} }

// inTransit names a failure of a request under way: a stall (no byte
// moved for StallTimeout), a cut (the connection reset or the body ended
// early), or another network error.
func inTransit(err error, stalled bool) error {
	switch {
	case stalled:
		return &transientError{ErrTimeout, err}
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, io.EOF):
		return &transientError{ErrCut, err}
	}
	return &transientError{ErrNetwork, err}
}

// backoff is the wait before try attempt+1: a random duration up to
// BackoffBase·2^(attempt-1), capped at BackoffMax, but not shorter than a
// Retry-After the server sent.
func (d *Device) backoff(attempt int, err error) time.Duration {
	ceil := d.opts.BackoffBase << min(attempt-1, 20)
	if ceil <= 0 || ceil > d.opts.BackoffMax {
		ceil = d.opts.BackoffMax
	}
	wait := ceil/2 + rand.N(ceil/2+1)
	var se *ServerError
	if errors.As(err, &se) && se.retryAfter > wait {
		wait = min(se.retryAfter, d.opts.BackoffMax)
	}
	return wait
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// once makes one HTTP request and decodes a 2xx body into out (or reads it
// with req.stream). A request is given up when no byte has moved either
// way for StallTimeout, however long it has run: over EDGE a large page
// takes minutes, and that is fine while it flows.
func (d *Device) once(ctx context.Context, req request, body []byte, out any) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stalled atomic.Bool
	watchdog := time.AfterFunc(d.opts.StallTimeout, func() { stalled.Store(true); cancel() })
	defer watchdog.Stop()
	moved := func() { watchdog.Reset(d.opts.StallTimeout) }
	hr, err := d.newHTTPRequest(ctx, req, body, moved)
	if err != nil {
		return err
	}
	resp, err := d.opts.HTTPClient.Do(hr)
	if err != nil {
		return inTransit(err, stalled.Load())
	}
	defer resp.Body.Close()
	d.server.observe(resp.Header)
	rd := &progressReader{r: resp.Body, moved: moved}
	if resp.StatusCode == http.StatusNotModified && req.notModified != nil {
		*req.notModified = true
		return nil
	}
	if resp.StatusCode/100 != 2 {
		return readServerError(resp)
	}
	if req.etag != nil {
		*req.etag = resp.Header.Get("ETag")
	}
	if req.serverTime != nil {
		*req.serverTime = serverTiming(resp.Header)
	}
	if req.stream != nil {
		if err := req.stream(rd); err != nil {
			var se *ServerError
			if errors.As(err, &se) || errors.Is(err, ErrProtocol) {
				return err
			}
			return inTransit(fmt.Errorf("read %s: %w", req.path, err), stalled.Load())
		}
		return nil
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(rd).Decode(out); err != nil {
		return inTransit(fmt.Errorf("decode %s response: %w", req.path, err), stalled.Load())
	}
	return nil
}

// progressReader calls moved whenever bytes arrive.
type progressReader struct {
	r     io.Reader
	moved func()
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.moved()
	}
	return n, err
}

func (d *Device) newHTTPRequest(ctx context.Context, req request, body []byte, moved func()) (*http.Request, error) {
	base, access, err := d.endpoint(req.auth)
	if err != nil {
		return nil, err
	}
	var rd io.Reader
	if body != nil {
		rd = &progressReader{r: bytes.NewReader(body), moved: moved}
	}
	path := req.path
	if req.pathFunc != nil {
		if path, err = req.pathFunc(); err != nil {
			return nil, err
		}
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
		hr.ContentLength = int64(len(body))
	}
	if (req.gzip || req.zipped) && body != nil {
		hr.Header.Set("Content-Encoding", "gzip")
	}
	if req.ifNoneMatch != "" {
		hr.Header.Set("If-None-Match", req.ifNoneMatch)
	}
	for k, v := range req.header {
		hr.Header[k] = v
	}
	if req.auth {
		hr.Header.Set("Authorization", "Bearer "+access)
	} else if req.bearer != "" {
		hr.Header.Set("Authorization", "Bearer "+req.bearer)
	}
	return hr, nil
}

// endpoint reads the server URL and, if needed, the access token.
func (d *Device) endpoint(auth bool) (base, access string, err error) {
	err = d.db.View(func(tx *bbolt.Tx) error {
		base = strings.TrimRight(getStringTx(tx, keyServerURL), "/")
		return nil
	})
	if err == nil && auth {
		access, err = d.token(keyAccess)
	}
	switch {
	case err != nil:
		return "", "", err
	case base == "":
		return "", "", ErrNoServer
	case auth && access == "":
		return "", "", ErrNotLoggedIn
	}
	return base, access, nil
}

// readServerError turns an error response into a *ServerError.
func readServerError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	se := &ServerError{StatusCode: resp.StatusCode}
	var eb dsync.ErrorBody
	if json.Unmarshal(b, &eb) == nil && eb.Error.Code != "" {
		se.APIError = eb.Error
	} else {
		se.Message = strings.TrimSpace(http.StatusText(resp.StatusCode) + " " + string(b[:min(len(b), 200)]))
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		se.retryAfter = time.Duration(s) * time.Second
	}
	return se
}

func hasCode(err error, code string) bool {
	var se *ServerError
	return errors.As(err, &se) && se.Code == code
}
