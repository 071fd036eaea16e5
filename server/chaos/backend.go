package chaos

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/api"
	"github.com/dengji/dengji/server/auth"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore"
	"github.com/dengji/dengji/server/store/pgstore"
)

// A Backend is the server under test: something the harness can start,
// kill abruptly and start again on the same data, and whose store it can
// open while the server is down, to seed accounts before a run and check
// the invariants after it. The harness speaks to the server over HTTP only,
// so another store (PostgreSQL) is another Backend, not another harness.
type Backend interface {
	// Start starts the server on the run's data and returns its base URL,
	// or the URLs of several servers sharing one database; devices are
	// spread over them.
	Start(ctx context.Context) ([]string, error)
	// Kill stops the servers at once, as SIGKILL would: nothing is flushed.
	Kill() error
	// OpenStore opens the run's store directly; the server must be down.
	OpenStore() (store.Store, error)
}

// electionDay is the day ages are checked against in every run.
var electionDay = time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC)

// Env variables of a server child process.
const (
	envServeDir = "DENGJI_CHAOS_SERVE" // the location of the store the child serves
	envKey      = "DENGJI_SIGNING_KEY" // the run's token key, so tokens outlive a kill
)

// newSigningKey makes a run's token signing key in DENGJI_SIGNING_KEY form.
func newSigningKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// serverConfig is the API configuration of every chaos server: the model's
// rules for the fixed election day and the run's signing key.
func serverConfig(key string) (api.Config, error) {
	cfg := api.DefaultConfig()
	cfg.Validator = store.ModelValidator(model.Rules{ElectionDay: electionDay})
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ks, err := auth.ParseEnvKeys(key)
	cfg.Keys = ks
	return cfg, err
}

// Opener opens a run's store at its location (a bbolt data directory; a
// PostgreSQL backend's would be its connection string).
type Opener func(location string) (store.Store, error)

// OpenBolt is the Opener of the embedded bbolt store.
func OpenBolt(dir string) (store.Store, error) { return boltstore.Open(dir) }

// OpenAny opens a postgres:// location with pgstore and anything else as a
// bbolt data directory.
func OpenAny(loc string) (store.Store, error) {
	if pgstore.IsURL(loc) {
		return pgstore.Open(context.Background(), loc)
	}
	return boltstore.Open(loc)
}

// PostgreSQL makes the backend of each run on a schema of its own in the
// database at dbURL, served by servers child processes at once (several
// servers on one database), dropped when the run ends.
func PostgreSQL(dbURL string, servers int, command func() *exec.Cmd) func(dir string) Backend {
	return func(string) Backend {
		return &pgBackend{Process: Process{Open: OpenAny, Command: command, Servers: servers}, dbURL: dbURL}
	}
}

type pgBackend struct {
	Process
	dbURL string
	drop  func() error
}

// Start implements Backend; the first start makes the run's schema.
func (p *pgBackend) Start(ctx context.Context) ([]string, error) {
	if err := p.schema(ctx); err != nil {
		return nil, err
	}
	return p.Process.Start(ctx)
}

// OpenStore implements Backend.
func (p *pgBackend) OpenStore() (store.Store, error) {
	if err := p.schema(context.Background()); err != nil {
		return nil, err
	}
	return p.Process.OpenStore()
}

func (p *pgBackend) schema(ctx context.Context) error {
	if p.drop != nil {
		return nil
	}
	loc, drop, err := pgstore.NewSchema(ctx, p.dbURL)
	p.Location, p.drop = loc, drop
	return err
}

// Cleanup drops the run's schema.
func (p *pgBackend) Cleanup() error {
	if p.drop == nil {
		return nil
	}
	return p.drop()
}

// ServeIfChild serves the API and never returns when this process was
// started as a chaos server child (by a Process backend); otherwise it
// returns at once. A test binary calls it from TestMain, the dengji command
// from its chaos subcommand, so the child is the binary already built.
// open opens the store the Process names (nil: OpenBolt).
func ServeIfChild(open Opener) {
	loc := os.Getenv(envServeDir)
	if loc == "" {
		return
	}
	if open == nil {
		open = OpenBolt
	}
	if err := serveChild(open, loc); err != nil {
		fmt.Fprintln(os.Stderr, "chaos server:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func serveChild(open Opener, loc string) error {
	st, err := open(loc)
	if err != nil {
		return err
	}
	cfg, err := serverConfig(os.Getenv(envKey))
	if err != nil {
		return err
	}
	srv, err := api.New(context.Background(), st, cfg)
	if err != nil {
		return err
	}
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		return err
	}
	fmt.Println("listening", srv.URL()) // the parent reads this line
	return srv.Serve()
}

// Process runs the server as a real child process on the store at
// Location (real bbolt files in a directory unless Open says otherwise; the
// child must open it the same way): Command makes the command (this binary
// with its arguments; the harness adds the environment that makes it
// serve), and Kill sends SIGKILL.
type Process struct {
	Location string
	Open     Opener // nil: OpenBolt
	Command  func() *exec.Cmd
	// Servers is how many server processes share the store (default 1;
	// more only on a store that takes several, such as PostgreSQL: bbolt
	// locks its file).
	Servers int
	key     string
	cmds    []*exec.Cmd
}

// SelfCommand re-executes this very binary with args: the dengji command
// as `dengji chaos`, a test binary with a -test.run that matches nothing.
func SelfCommand(args ...string) func() *exec.Cmd {
	return func() *exec.Cmd {
		exe, err := os.Executable()
		if err != nil {
			exe = os.Args[0]
		}
		return exec.Command(exe, args...)
	}
}

// Start implements Backend.
func (p *Process) Start(ctx context.Context) ([]string, error) {
	if p.key == "" {
		p.key = newSigningKey()
	}
	var urls []string
	for range max(p.Servers, 1) {
		url, err := p.startOne()
		if err != nil {
			p.Kill()
			return nil, err
		}
		urls = append(urls, url)
	}
	return urls, nil
}

func (p *Process) startOne() (string, error) {
	cmd := p.Command()
	cmd.Env = append(os.Environ(), envServeDir+"="+p.Location, envKey+"="+p.key)
	cmd.Stderr = os.Stderr
	setDeathSignal(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("chaos: start the server: %w", err)
	}
	p.cmds = append(p.cmds, cmd)
	line, err := bufio.NewReader(out).ReadString('\n')
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		return "", fmt.Errorf("chaos: the server did not start: %q %v", line, err)
	}
	return url, nil
}

// Kill implements Backend.
func (p *Process) Kill() error {
	var errs []error
	for _, cmd := range p.cmds {
		err := cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if !errors.Is(err, os.ErrProcessDone) {
			errs = append(errs, err)
		}
	}
	p.cmds = nil
	return errors.Join(errs...)
}

// OpenStore implements Backend.
func (p *Process) OpenStore() (store.Store, error) {
	if p.Open == nil {
		return OpenBolt(p.Location)
	}
	return p.Open(p.Location)
}

// InProcess serves the API from this process on the bbolt files in Dir,
// its store passed through Wrap if set. Kill closes the listener and the
// store: no SIGKILL, so it is the backend for tests of the harness itself
// (a store broken on purpose), not for crash faults.
type InProcess struct {
	Dir  string
	Wrap func(store.Store) store.Store
	key  string
	srv  *api.Server
	st   store.Store
}

// Start implements Backend.
func (p *InProcess) Start(ctx context.Context) ([]string, error) {
	if p.key == "" {
		p.key = newSigningKey()
	}
	st, err := boltstore.Open(p.Dir)
	if err != nil {
		return nil, err
	}
	p.st = st
	var served store.Store = st
	if p.Wrap != nil {
		served = p.Wrap(st)
	}
	cfg, err := serverConfig(p.key)
	if err == nil {
		p.srv, err = api.New(ctx, served, cfg)
	}
	if err == nil {
		err = p.srv.Listen("127.0.0.1:0")
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	go p.srv.Serve()
	return []string{p.srv.URL()}, nil
}

// Kill implements Backend.
func (p *InProcess) Kill() error {
	if p.srv == nil {
		return nil
	}
	err := errors.Join(p.srv.Close(), p.st.Close())
	p.srv, p.st = nil, nil
	return err
}

// OpenStore implements Backend.
func (p *InProcess) OpenStore() (store.Store, error) { return boltstore.Open(p.Dir) }
