package api

import (
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dengji/dengji/server/auth"
	"github.com/dengji/dengji/server/store"
)

// logRequests logs method, route, status and duration under the request's
// ID, and counts the request in the metrics. It never logs paths, query
// strings or bodies: those may hold names and ID numbers.
func (s *Server) logRequests(c *gin.Context) {
	id := requestID(c)
	c.Header(requestIDHeader, id)
	log := s.log.With("request_id", id)
	c.Set(ctxLogger, log)
	start := time.Now()
	c.Next()
	elapsed := time.Since(start)
	s.metrics.observe(c, elapsed)
	log.Info("http", "method", c.Request.Method, "route", c.FullPath(), "status", c.Writer.Status(),
		"ms", elapsed.Milliseconds(), "user", c.GetString(ctxUserName))
}

// limitBody caps the request body, and decompresses a gzip'd one under the
// same cap (so a small bomb cannot expand without bound). The body must
// keep arriving at the minimum rate, and a large one waits for a slot
// (Limits); the slot is given back when the handler is done.
func (s *Server) limitBody(c *gin.Context) {
	raw := c.Request.Body
	var g *bodyGuard
	if c.Request.ContentLength != 0 && raw != nil && raw != http.NoBody {
		g = newBodyGuard(c, s.lim)
		defer g.release()
		raw = wire{g, raw}
	}
	body := http.MaxBytesReader(c.Writer, raw, s.cfg.MaxBodyBytes)
	switch enc := strings.ToLower(c.GetHeader("Content-Encoding")); enc {
	case "", "identity":
		c.Request.Body = body
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil && !errors.Is(err, io.EOF) {
			fail(c, ErrBadRequest)
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, readCloser{zr, body}, s.cfg.MaxBodyBytes)
		c.Request.Header.Del("Content-Encoding")
	default:
		fail(c, ErrUnsupported)
		return
	}
	if g != nil {
		c.Request.Body = held{g, c.Request.Body}
	}
	c.Next()
}

type readCloser struct {
	io.Reader
	io.Closer
}

// Context keys set by authenticate.
const (
	ctxUser     = "dengji.user"
	ctxUserName = "dengji.user_name"
	ctxDevice   = "dengji.device"
	ctxLogger   = "dengji.logger"
)

// authenticate checks the bearer token, then the user and device as they are
// now in the store, so disabling a user or revoking a device takes effect on
// the very next request.
func (s *Server) authenticate(c *gin.Context) {
	h := c.GetHeader("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		fail(c, ErrUnauthorized)
		return
	}
	claims, err := s.issuer.Verify(token)
	if errors.Is(err, auth.ErrTokenExpired) {
		fail(c, ErrTokenExpired)
		return
	}
	if err != nil {
		fail(c, ErrUnauthorized)
		return
	}
	u, d, err := s.principal(c, claims.Subject, claims.Device)
	if err != nil {
		fail(c, err)
		return
	}
	c.Set(ctxUser, u)
	c.Set(ctxUserName, u.Name)
	if d != nil {
		c.Set(ctxDevice, d)
	}
	c.Next()
}

// principal is the user and device a token names, as they are now: a user
// who is not found, is disabled, or whose device is not found, is revoked
// or is another user's is refused.
func (s *Server) principal(c *gin.Context, name, device string) (*store.User, *store.Device, error) {
	return s.principalOf(c, name, device, false)
}

// principalOf is principal; with enrolling, a device not enrolled yet is
// no refusal (d is nil): the device of a password-change token, which the
// change enrols.
func (s *Server) principalOf(c *gin.Context, name, device string, enrolling bool) (*store.User, *store.Device, error) {
	var u *store.User
	var d *store.Device
	err := s.store.View(c, func(tx store.Tx) error {
		var err error
		if u, err = tx.User(name); err != nil {
			return err
		}
		if err := store.ResolveScope(tx, u); err != nil {
			return err
		}
		if device != "" {
			d, err = tx.Device(device)
			if enrolling && errors.Is(err, store.ErrNotFound) {
				d, err = nil, nil
			}
		}
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil, ErrUnauthorized
	case err != nil:
		return nil, nil, err
	case u.Disabled:
		return nil, nil, ErrUserDisabled
	case d != nil && (d.IsRevoked() || d.User != u.Name):
		return nil, nil, ErrDeviceRevoked
	}
	return u, d, nil
}

// requireRole lets only the given roles through.
func requireRole(roles ...store.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		u := user(c)
		for _, r := range roles {
			if u.Role == r {
				c.Next()
				return
			}
		}
		fail(c, ErrForbidden)
	}
}

func user(c *gin.Context) *store.User { return c.MustGet(ctxUser).(*store.User) }

func device(c *gin.Context) *store.Device {
	d, _ := c.Get(ctxDevice)
	dev, _ := d.(*store.Device)
	return dev
}
