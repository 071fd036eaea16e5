// Package console is the coordinators' and admins' web console, served by
// `dengji serve` beside the API (every path outside /v1/): html/template
// pages and static files embedded in the binary, Simplified Chinese first
// with an English switch. It signs people in with a cookie session (the
// refresh-token session of package accounts, checked at every request and
// ended after an idle time), refuses any form or fetch without its CSRF
// token, and sends a Content-Security-Policy without inline script on
// every page. What a page shows comes from the functions the API calls
// (store, roll, dedupjob, accounts), within the same scope rules.
package console

import (
	"context"
	"crypto/rand"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/dedupjob"
	"github.com/dengji/dengji/server/roll"
	"github.com/dengji/dengji/server/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config is what the console serves from. Store, Accounts and Dedup are
// the API server's own (api.Server's Accounts and Dedup), so sign-in
// throttling and the one running duplicate check are shared.
type Config struct {
	Store      store.Store
	Accounts   *accounts.Service
	Dedup      *dedupjob.Job
	StartDedup func(incremental bool) error // starts a run that outlives the request
	Validator  store.Validator              // the record model's rules, as the API checks them
	// IdleTimeout ends a session unused this long (DefaultIdleTimeout if 0).
	IdleTimeout time.Duration
	Logger      *slog.Logger // nil: slog.Default()
}

// DefaultIdleTimeout is how long a console session lasts without a request.
const DefaultIdleTimeout = 30 * time.Minute

// Console is the web console's http.Handler.
type Console struct {
	cfg     Config
	mux     *http.ServeMux
	pages   map[string]*template.Template
	csrfKey []byte
	tally   *roll.Tally
	imports *importJobs

	mu        sync.Mutex
	seen      map[string]time.Time  // session (refresh family) -> last request
	counts    map[string]queueCount // scope -> its open queues' sizes
	decisions int                   // decisions taken through the console
}

// New builds the console and starts counting the overview's figures in the
// background (the first count reads every record).
func New(cfg Config) (*Console, error) {
	if cfg.Store == nil || cfg.Accounts == nil || cfg.Dedup == nil || cfg.StartDedup == nil {
		return nil, fmt.Errorf("console: Store, Accounts, Dedup and StartDedup are required")
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Console{cfg: cfg, csrfKey: make([]byte, 32), tally: roll.NewTally(), imports: newImportJobs(),
		seen: map[string]time.Time{}, counts: map[string]queueCount{}}
	rand.Read(c.csrfKey)
	var err error
	if c.pages, err = parsePages(); err != nil {
		return nil, err
	}
	c.mux = http.NewServeMux()
	if err := c.register(); err != nil {
		return nil, err
	}
	go func() {
		if err := c.tally.Refresh(context.Background(), cfg.Store); err != nil {
			cfg.Logger.Error("console: count the overview's figures", "err", err)
		}
	}()
	return c, nil
}

// ServeHTTP serves a console request with the headers every answer carries.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	c.mux.ServeHTTP(w, r)
}

// CSP is the Content-Security-Policy of every answer: scripts, styles and
// fetches from the console itself only, no inline script or style, no
// framing, forms posting only here.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// staticFiles serves the embedded CSS and JavaScript.
func staticFiles() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	return http.StripPrefix("/console/static/", http.FileServerFS(sub))
}
