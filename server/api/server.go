// Package api is Dengji's HTTP API (gin), under /v1/: login and tokens, push
// and pull for devices, conflicts for coordinators, users and devices for
// admins. It is the only package that knows gin.
package api

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/auth"
	"github.com/dengji/dengji/server/backup"
	"github.com/dengji/dengji/server/dedupjob"
	"github.com/dengji/dengji/server/election"
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
	// DedupEvery is how often the duplicate check looks for registrations
	// committed since it last matched, and matches them (dedupjob.Watch);
	// 0 leaves it to an operator's runs. `dengji serve` turns it on.
	DedupEvery time.Duration
	// Election is the election a running server validates with; an
	// administrator's change through the API replaces what it holds (pass
	// the one cfg.Validator reads, see election.Live). Nil: New loads the
	// stored election into one of its own.
	Election *election.Live
	// Backups takes and keeps the store's backups (POST /v1/admin/backup);
	// nil: the store has none of its own (PostgreSQL: pg_dump).
	Backups *backup.Manager
	// StoreSize reports the size of the store's data for the metrics; nil
	// leaves the gauge out.
	StoreSize func() int64
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
	election *election.Live
	metrics  *metrics
	// generation is the store's generation (backup.Generation), sent with
	// every answer.
	generation string

	// ctx lives as long as the server: background work started by a
	// request (a dedup run) stops when the server closes.
	ctx      context.Context
	cancel   context.CancelFunc
	watching chan struct{} // closed when continuous matching has stopped; nil if it never ran

	ln  net.Listener
	srv *http.Server

	browser http.Handler // serves every path outside /v1/ (the console); nil: the API's 404
	tls     bool
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
	if s.generation, err = backup.Generation(ctx, st); err != nil {
		return nil, fmt.Errorf("api: generation: %w", err)
	}
	s.lim = newLimiter(cfg.Limits)
	if s.election = cfg.Election; s.election == nil {
		e, err := loadElection(ctx, st)
		if err != nil {
			return nil, err
		}
		s.election = election.NewLive(e)
	}
	s.metrics = newMetrics(s)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.engine = s.routes()
	if err := checkDeclared(s.engine); err != nil {
		s.cancel()
		return nil, err
	}
	if cfg.DedupEvery > 0 {
		s.watching = make(chan struct{})
		go func() {
			defer close(s.watching)
			s.dedup.Watch(s.ctx, cfg.DedupEvery)
		}()
	}
	return s, nil
}

// apiPrefix is the path every route of the table lies under.
const apiPrefix = "/v1"

// routeTable is every route of the API: who may call it (Access, whose
// guards are put before the handler), how it is confined to the caller's
// districts (Scope), and its handler. A route is registered from here and
// nowhere else; New refuses an engine with a route not declared here, and
// TestAuthz_Matrix calls every route as every kind of caller.
var routeTable = []route{
	// Sign-in and sessions: the body carries the credentials.
	{Policy{"POST", "/auth/login", Anyone, unscoped}, (*Server).login},
	{Policy{"POST", "/auth/refresh", Anyone, unscoped}, (*Server).refresh},
	{Policy{"POST", "/auth/logout", Anyone, unscoped}, (*Server).logout},
	{Policy{"POST", "/me/password", OwnPassword, unscoped}, (*Server).changePassword},
	{Policy{"GET", "/me", SignedIn, unscoped}, (*Server).me},
	{Policy{"GET", "/openapi.json", Anyone, unscoped}, (*Server).openAPI},

	// Sync: devices' changes and the feed of the caller's districts.
	{Policy{"POST", "/push", EnrolledDevice, perItem("changes[].district")}, (*Server).push},
	{Policy{"POST", "/sync", EnrolledDevice, perItem("changes[].district; the records of the caller's districts")}, (*Server).sync},
	{Policy{"GET", "/pull", SignedIn, byQuery("district")}, (*Server).pull},
	{Policy{"POST", "/conflicts/status", SignedIn, inAnswer("ids[]: each conflict's district")}, (*Server).conflictStatus},
	{Policy{"GET", "/rules", SignedIn, inAnswer("districts: those in the caller's scope")}, (*Server).deviceRules},

	// Review, exports and the verification list, in the caller's districts.
	{Policy{"GET", "/conflicts", Reviewer, byQuery("district")}, (*Server).listConflicts},
	{Policy{"POST", "/conflicts/:id/resolve", Reviewer, byObject(":id: the conflict's district")}, (*Server).resolveConflict},
	{Policy{"GET", "/export/roll", Reviewer, byQuery("district")}, (*Server).exportRoll},
	{Policy{"GET", "/export/stats", Reviewer, inAnswer("")}, (*Server).exportStats},
	{Policy{"GET", "/verification", Reviewer, byQuery("district")}, (*Server).listVerification},
	{Policy{"GET", "/duplicates", Reviewer, byQuery("district")}, (*Server).listDuplicates},
	{Policy{"POST", "/duplicates/:id/decide", Reviewer, byObject(":id: every member's district")}, (*Server).decideDuplicate},
	{Policy{"POST", "/conflicts/:id/reopen", Reviewer, byObject(":id: the conflict's district")}, (*Server).reopenConflict},
	{Policy{"POST", "/duplicates/:id/reopen", Reviewer, byObject(":id: every member's district")}, (*Server).reopenDuplicate},
	{Policy{"GET", "/records/:id/history", Reviewer, byObject(":id: the record's district")}, (*Server).recordHistory},

	// Notices to registrars: a registration of theirs may be registered elsewhere.
	{Policy{"GET", "/notices", SignedIn, byQuery("district")}, (*Server).listNotices},
	{Policy{"POST", "/notices/:id/answer", SignedIn, byObject(":id: the notice's district")}, (*Server).answerNotice},

	// Administration: every district.
	{Policy{"GET", "/users", AdminOnly, unscoped}, (*Server).listUsers},
	{Policy{"POST", "/users", AdminOnly, unscoped}, (*Server).addUser},
	{Policy{"POST", "/users/:name/disable", AdminOnly, unscoped}, (*Server).disableUser},
	{Policy{"POST", "/users/:name/enable", AdminOnly, unscoped}, (*Server).enableUser},
	{Policy{"POST", "/users/:name/password", AdminOnly, unscoped}, (*Server).resetPassword},
	{Policy{"POST", "/users/:name/unlock", AdminOnly, unscoped}, (*Server).unlockUser},
	{Policy{"PATCH", "/users/:name", AdminOnly, unscoped}, (*Server).editUser},
	{Policy{"GET", "/devices", AdminOnly, unscoped}, (*Server).listDevices},
	{Policy{"POST", "/devices/:id/revoke", AdminOnly, unscoped}, (*Server).revokeDevice},
	{Policy{"POST", "/admin/import/registrations", AdminOnly, unscoped}, (*Server).importRegistrations},
	{Policy{"POST", "/admin/import/districts", AdminOnly, unscoped}, (*Server).importDistricts},
	{Policy{"POST", "/admin/dedup", AdminOnly, unscoped}, (*Server).startDedup},
	{Policy{"GET", "/admin/dedup", AdminOnly, unscoped}, (*Server).getDedup},
	{Policy{"GET", "/admin/audit", AdminOnly, unscoped}, (*Server).listAudit},
	{Policy{"GET", "/admin/election", AdminOnly, unscoped}, (*Server).getElection},
	{Policy{"PUT", "/admin/election", AdminOnly, unscoped}, (*Server).putElection},
	{Policy{"POST", "/admin/backup", AdminOnly, unscoped}, (*Server).takeBackup},
	{Policy{"GET", "/admin/backups", AdminOnly, unscoped}, (*Server).listBackups},
}

func (s *Server) routes() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	if err := e.SetTrustedProxies(s.cfg.TrustedProxies); err != nil {
		s.log.Error("trusted proxies ignored", "err", err)
		e.SetTrustedProxies(nil)
	}
	e.Use(gin.CustomRecoveryWithWriter(io.Discard, func(c *gin.Context, _ any) { fail(c, ErrInternal) }))
	e.Use(s.logRequests, s.stamp, s.admit, s.limitBody)
	e.NoRoute(func(c *gin.Context) { fail(c, ErrNotFound) })
	s.register(e)
	return e
}

// Handler is the server's http.Handler, for tests and embedding: the API
// under /v1/, and what Mount gave for every other path. The listener serves
// it behind /healthz and /readyz (rootHandler).
func (s *Server) Handler() http.Handler {
	if s.browser == nil {
		return s.engine
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == apiPrefix || strings.HasPrefix(r.URL.Path, apiPrefix+"/") {
			s.engine.ServeHTTP(w, r)
			return
		}
		s.browser.ServeHTTP(w, r)
	})
}

// Mount serves h for every path outside /v1/ (the browser console, whose
// routes keep their own guards: cookies, CSRF, CSP); call it before Listen.
func (s *Server) Mount(h http.Handler) { s.browser = h }

// Dedup is the server's duplicate check (one run at a time, whoever starts it).
func (s *Server) Dedup() *dedupjob.Job { return s.dedup }

// StartDedup starts a duplicate check that lives as long as the server.
func (s *Server) StartDedup(incremental bool) error { return s.dedup.Start(s.ctx, incremental) }

// Listen binds addr (":0" picks a free port).
func (s *Server) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("api: listen: %w", err)
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s.rootHandler(), ReadHeaderTimeout: s.cfg.Limits.HeaderTimeout,
		IdleTimeout: 2 * time.Minute}
	return nil
}

// ListenTLS binds addr to serve HTTPS with the PEM certificate (chain) and
// key files, read now: a bad file stops the start, not the first client.
func (s *Server) ListenTLS(addr, certFile, keyFile string) error {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("api: TLS certificate and key: %w", err)
	}
	if err := s.Listen(addr); err != nil {
		return err
	}
	s.ln = tls.NewListener(s.ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	s.tls = true
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
func (s *Server) URL() string {
	if s.tls {
		return "https://" + s.ln.Addr().String()
	}
	return "http://" + s.ln.Addr().String()
}

// Close stops accepting requests and waits up to 10 s for those under way.
func (s *Server) Close() error {
	s.cancel()
	if s.watching != nil {
		<-s.watching // a run under way stops at its next check of the context
	}
	if s.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}
