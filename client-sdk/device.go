package sdk

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	json "github.com/dengji/dengji/internal/jsonx"
	"github.com/dengji/dengji/model"
	dsync "github.com/dengji/dengji/sync"
	"github.com/google/uuid"
	"go.etcd.io/bbolt"
)

// Options configure a Device. The zero value is usable offline.
type Options struct {
	// ServerURL is the server's base URL, e.g. "https://dengji.example.cn".
	// Empty: use the one stored by an earlier Open.
	ServerURL string
	// DeviceName is sent at login so an administrator can tell devices apart.
	DeviceName string
	// HTTPClient makes the requests; http.DefaultTransport's if nil. Give
	// it no Timeout: a request fails when nothing moves for StallTimeout,
	// not after a fixed time (a large page takes minutes over EDGE).
	HTTPClient *http.Client
	// StallTimeout gives up a request when no byte has moved either way for
	// this long (default 30s).
	StallTimeout time.Duration
	// Validate checks a record's full field set before a create or update is
	// stored; a non-nil error refuses the edit (as a *ValidationError). Nil
	// uses the shared model's validation (model.Validate) with the rules of
	// the election the server sent (Rules before a Sync brought one).
	Validate func(typ, district string, fields map[string]json.RawMessage) error
	// Rules are the election's parameters for the default validation until
	// the server's election arrives with a Sync.
	Rules model.Rules
	// Now is the wall clock for HLC timestamps, the access token's expiry
	// and the daily sweep of open conflicts; time.Now if nil.
	Now func() time.Time
	// BatchSize is the number of changes per push (default and at most
	// dsync.MaxPushBatch, 2,000: over EDGE each batch costs a round trip
	// and the server's time with the uplink idle; a batch cut in transit is
	// sent again halved).
	BatchSize int
	// PageSize is the number of records per pull page (default and at most
	// dsync.MaxPullPage); PageBytes bounds a page's records' JSON on the
	// server (default 4 MiB). Pages stream in and are stored as they arrive,
	// so a large page loses nothing to a cut, and compresses better.
	PageSize  int
	PageBytes int
	// Secrets, if set, keeps the tokens in the platform's protected storage
	// instead of the device file; tokens an earlier Open left in the file
	// move there.
	Secrets SecretStore
	// DisableGzip sends push bodies uncompressed.
	DisableGzip bool
	// MaxAttempts bounds the tries of one request on network errors, 5xx
	// and 429 in a row without progress (default 5); a pull that stores
	// records before each failure goes on for as long as it moves.
	MaxAttempts int
	// BackoffBase is the wait before the first retry, doubled each time with
	// jitter (default 500ms); BackoffMax caps it (default 30s).
	BackoffBase time.Duration
	BackoffMax  time.Duration
}

func (o Options) withDefaults() Options {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.BatchSize = clamp(o.BatchSize, dsync.MaxPushBatch, dsync.MaxPushBatch)
	o.PageSize = clamp(o.PageSize, dsync.MaxPullPage, dsync.MaxPullPage)
	o.PageBytes = clamp(o.PageBytes, 4<<20, 8<<20)
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = 500 * time.Millisecond
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 30 * time.Second
	}
	return o
}

func clamp(n, def, hi int) int {
	if n <= 0 {
		return def
	}
	return min(n, hi)
}

// Device is a registrar's local store and its link to the server. It is safe
// for concurrent use; only one Sync runs at a time.
type Device struct {
	db   *bbolt.DB
	opts Options
	id   string

	mu    sync.Mutex // serialises write transactions and guards clock
	clock *dsync.Clock

	syncing sync.Mutex // held by the running Sync

	rules       atomic.Pointer[dsync.Rules] // cached from the server; nil before the first
	accessUntil atomic.Int64                // unix ms the access token expires, if known
	server      serverState                 // what the server's last answer said of its generation and backups
	pace        pace                        // how hard pushes are compressed
}

// fileGrowth is how much the device file grows by beyond what it needs.
const fileGrowth = 1 << 20

// Open opens (creating if needed) the device file at path.
func Open(path string, opts Options) (*Device, error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("open device file: %w", err)
	}
	// Past 16 MiB of data, bbolt grows its file AllocSize beyond what it
	// needs (16 MiB by default): a third again on a phone's 30,000-record
	// file. Grown a MiB at a time, it costs a truncate and an fsync a MiB.
	db.AllocSize = fileGrowth
	d := &Device{db: db, opts: opts.withDefaults()}
	if err := db.Update(d.initTx); err != nil {
		db.Close()
		return nil, err
	}
	return d, nil
}

func (d *Device) initTx(tx *bbolt.Tx) error {
	if err := initSchemaTx(tx); err != nil {
		return err
	}
	d.id = getStringTx(tx, keyDevice)
	if d.id == "" {
		d.id = uuid.NewString()
		if err := putStringTx(tx, keyDevice, d.id); err != nil {
			return err
		}
	}
	if d.opts.ServerURL != "" {
		if err := putStringTx(tx, keyServerURL, d.opts.ServerURL); err != nil {
			return err
		}
	}
	if d.opts.Secrets != nil {
		if err := moveTokensTx(tx, d.opts.Secrets); err != nil {
			return err
		}
	}
	if err := d.loadRulesTx(tx); err != nil {
		return err
	}
	d.accessUntil.Store(int64(getU64Tx(tx, keyAccessUntil)))
	d.clock = dsync.NewClock(dsync.HLC(getU64Tx(tx, keyHLC)))
	d.clock.Now = d.opts.Now
	return nil
}

// Close closes the device file. Pending changes stay in it.
func (d *Device) Close() error { return d.db.Close() }

// ID is the device's ID, made when the file was created.
func (d *Device) ID() string { return d.id }
