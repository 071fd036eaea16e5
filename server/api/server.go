// Package api is Dengji's HTTP API (gin), under /v1/: login and tokens, push
// and pull for devices, conflicts for coordinators, users and devices for
// admins. It is the only package that knows gin.
package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/auth"
	"github.com/dengji/dengji/server/dedupjob"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// Config holds the API's settings.
type Config struct {
	AccessTTL    time.Duration // access token lifetime
	RefreshTTL   time.Duration // refresh token lifetime: longer than a registrar stays offline
	MaxBodyBytes int64         // request body cap, before and after decompression
	// Validator checks a record before a change to it is accepted (the record
	// model's rules); nil accepts every well-formed change.
	Validator store.Validator
	// Logger receives request and error logs (never personal data); nil
	// means slog.Default().
	Logger *slog.Logger
	// Limits bound requests in flight, slow bodies and large ones.
	Limits Limits
	// MaxClockAhead bounds how far ahead of the server's clock a pushed
	// change's timestamp may be (clock_skew).
	MaxClockAhead time.Duration
	// Keys sign and verify access tokens (see auth.OpenKeyFile); nil makes
	// a key that lives as long as the server, for tests.
	Keys *auth.KeySet
	// RefreshGrace is how long a rotated refresh token may be presented
	// once more and get the same pair (an answer lost in transit).
	RefreshGrace time.Duration
	// Throttle limits failed sign-ins per account and source address.
	Throttle accounts.ThrottleConfig
	// TrustedProxies are the addresses or CIDRs of reverse proxies whose
	// X-Forwarded-For names the client; none by default, so the source
	// address a sign-in is throttled by is the connection's.
	TrustedProxies []string
}

// DefaultConfig returns the settings a county server runs with.
func DefaultConfig() Config {
	return Config{
		AccessTTL:     15 * time.Minute,
		RefreshTTL:    30 * 24 * time.Hour,
		MaxBodyBytes:  32 << 20,
		Limits:        DefaultLimits(),
		MaxClockAhead: dsync.MaxClockAhead,
		RefreshGrace:  60 * time.Second,
		Throttle:      accounts.DefaultThrottle(),
	}
}

// Validate reports a setting that cannot work.
func (c Config) Validate() error {
	switch {
	case c.AccessTTL < time.Minute:
		return errors.New("api: access token lifetime under a minute")
	case c.RefreshTTL < c.AccessTTL:
		return errors.New("api: refresh token lifetime shorter than the access token's")
	case c.MaxBodyBytes < 1<<20:
		return errors.New("api: body limit under 1 MiB")
	case c.MaxClockAhead < time.Minute:
		return errors.New("api: clock skew bound under a minute")
	case c.RefreshGrace < 0 || c.RefreshGrace > 5*time.Minute:
		return errors.New("api: refresh grace not within 0-5 minutes")
	case c.Throttle.PairMax < 1 || c.Throttle.AddrMax < 1:
		return errors.New("api: sign-in throttle limits under 1")
	}
	return c.Limits.Validate()
}

// Server serves the API over one store.
type Server struct {
	cfg      Config
	store    store.Store
	issuer   *auth.Issuer
	engine   *gin.Engine
	log      *slog.Logger
	dedup    *dedupjob.Job // the duplicate check; keeps the last full run's index
	accounts *accounts.Service
	lim      *limiter

	// ctx lives as long as the server: background work started by a
	// request (a dedup run) stops when the server closes.
	ctx    context.Context
	cancel context.CancelFunc

	ln  net.Listener
	srv *http.Server
}

// New builds a server; tokens are signed with cfg.Keys.
func New(ctx context.Context, st store.Store, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Keys == nil {
		cfg.Keys = auth.NewKeySet()
	}
	issuer, err := auth.NewIssuer(cfg.Keys, cfg.AccessTTL)
	if err != nil {
		return nil, fmt.Errorf("api: signing keys: %w", err)
	}
	acfg := accounts.Config{SessionTTL: cfg.RefreshTTL, Grace: cfg.RefreshGrace, Throttle: cfg.Throttle}
	s := &Server{cfg: cfg, store: st, issuer: issuer, log: cfg.Logger,
		dedup: dedupjob.New(st, dedupjob.DefaultOptions()), accounts: accounts.NewService(st, issuer, acfg)}
	s.lim = newLimiter(cfg.Limits)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.engine = s.routes()
	return s, nil
}

func (s *Server) routes() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	if err := e.SetTrustedProxies(s.cfg.TrustedProxies); err != nil {
		s.log.Error("trusted proxies ignored", "err", err)
		e.SetTrustedProxies(nil)
	}
	e.Use(gin.CustomRecoveryWithWriter(io.Discard, func(c *gin.Context, _ any) { fail(c, ErrInternal) }))
	e.Use(s.logRequests, s.admit, s.limitBody)
	e.NoRoute(func(c *gin.Context) { fail(c, ErrNotFound) })

	v1 := e.Group("/v1")
	v1.POST("/auth/login", s.login)
	v1.POST("/auth/refresh", s.refresh)
	v1.POST("/auth/logout", s.logout)
	v1.POST("/me/password", s.changePassword) // an access or a password-change token

	authed := v1.Group("", s.authenticate)
	authed.GET("/me", s.me)
	authed.POST("/push", s.push)
	authed.GET("/pull", s.pull)
	authed.POST("/conflicts/status", s.conflictStatus)

	review := authed.Group("", requireRole(store.RoleCoordinator, store.RoleAdmin))
	review.GET("/conflicts", s.listConflicts)
	review.POST("/conflicts/:id/resolve", s.resolveConflict)
	review.GET("/export/roll", s.exportRoll)
	review.GET("/export/stats", s.exportStats)
	review.GET("/verification", s.listVerification)
	review.GET("/duplicates", s.listDuplicates)
	review.POST("/duplicates/:id/decide", s.decideDuplicate)

	admin := authed.Group("", requireRole(store.RoleAdmin))
	admin.GET("/users", s.listUsers)
	admin.POST("/users", s.addUser)
	admin.POST("/users/:name/disable", s.disableUser)
	admin.POST("/users/:name/enable", s.enableUser)
	admin.POST("/users/:name/password", s.resetPassword)
	admin.POST("/users/:name/unlock", s.unlockUser)
	admin.GET("/devices", s.listDevices)
	admin.POST("/devices/:id/revoke", s.revokeDevice)
	admin.POST("/admin/import/registrations", s.importRegistrations)
	admin.POST("/admin/import/districts", s.importDistricts)
	admin.POST("/admin/dedup", s.startDedup)
	admin.GET("/admin/dedup", s.getDedup)
	return e
}

// Handler is the server's http.Handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.engine }

// Listen binds addr (":0" picks a free port).
func (s *Server) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("api: listen: %w", err)
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s.engine, ReadHeaderTimeout: s.cfg.Limits.HeaderTimeout,
		IdleTimeout: 2 * time.Minute}
	return nil
}

// Serve serves until Close; it returns nil after a Close.
func (s *Server) Serve() error {
	if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// URL is the base URL of the listener.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Close stops accepting requests and waits up to 10 s for those under way.
func (s *Server) Close() error {
	s.cancel()
	if s.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}
