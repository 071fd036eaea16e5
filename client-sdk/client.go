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
	header http.Header
}

// call makes an API request, retrying transient failures, and refreshes the
// access token once if the server says it expired.
func (d *Device) call(ctx context.Context, req request, out any) error {
	body, err := encodeBody(req.body, req.raw, req.gzip && !req.zipped)
	if err != nil {
		return err
	}
	try := func() error { return d.retry(ctx, func() error { return d.once(ctx, req, body, out) }) }
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
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// retry runs fn until it succeeds, fails for good, or MaxAttempts is reached,
// waiting with exponential backoff and full jitter between tries.
func (d *Device) retry(ctx context.Context, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !retryable(ctx, err) || attempt >= d.opts.MaxAttempts {
			return err
		}
		if err := sleep(ctx, d.backoff(attempt, err)); err != nil {
			return err
		}
	}
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
// transit: worth another try.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

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

// once makes one HTTP request and decodes a 2xx body into out.
func (d *Device) once(ctx context.Context, req request, body []byte, out any) error {
	hr, err := d.newHTTPRequest(ctx, req, body)
	if err != nil {
		return err
	}
	resp, err := d.opts.HTTPClient.Do(hr)
	if err != nil {
		return &transientError{err}
	}
	defer resp.Body.Close()
	d.server.observe(resp.Header)
	if resp.StatusCode/100 != 2 {
		return readServerError(resp)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return &transientError{fmt.Errorf("decode %s response: %w", req.path, err)}
	}
	return nil
}

func (d *Device) newHTTPRequest(ctx context.Context, req request, body []byte) (*http.Request, error) {
	base, access, err := d.endpoint(req.auth)
	if err != nil {
		return nil, err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, base+req.path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if (req.gzip || req.zipped) && body != nil {
		hr.Header.Set("Content-Encoding", "gzip")
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
