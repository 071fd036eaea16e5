// Package pgstore is the PostgreSQL backend of store.Store, for a province:
// tens of millions of records in one database, with several dengji servers
// in front of it. It holds no merge logic (package store does, once); it
// keeps the contract store.Store describes and the suite in storetest
// checks.
//
// How it keeps the contract:
//   - Writers are serialised: every Update first takes one transaction-scoped
//     advisory lock (writeLock, keyed by the schema) and holds it to commit, across every server
//     on the database, so Updates run one at a time as bbolt's do. Under it
//     READ COMMITTED is serializable for writers, since each statement sees
//     every commit before the lock was granted and no other writer commits
//     meanwhile. (REPEATABLE READ would be wrong here: its snapshot would
//     be taken at the lock statement, before the previous holder's commit.)
//   - Sequence numbers are taken under that lock from a row of meta, never
//     from a sequence object, and a commit is visible before its lock is
//     released, so they become visible in order: no pull can pass a change
//     that commits later below a sequence number it saw.
//   - Readers (View) run REPEATABLE READ, READ ONLY: one snapshot, never
//     waiting for writers nor making them wait, however long they read.
//   - Stored values are bytea, byte for byte as written.
//   - Keys are text COLLATE "C", so every order is bbolt's byte order.
//
// Update retries a transaction that failed on a serialization failure or
// a deadlock (neither happens while every writer takes the lock, but a
// DBA's own transactions may cause one).
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dengji/dengji/server/store"
)

// Store is a PostgreSQL-backed store.Store.
type Store struct {
	pool *pgxpool.Pool
	// writer lets one Update of this process at a time take a connection
	// and wait for the database's write lock: the others wait here, so
	// waiting writers never hold every connection of the pool while
	// readers need one.
	writer sync.Mutex
	// schema is the one the tables are in (current_schema()): advisory
	// locks are the database's, so their keys name it, and stores in two
	// schemas of one database never wait for each other.
	schema string
}

var _ store.Store = (*Store)(nil)

// lockKey is the key of the advisory lock named name in the store's schema.
func (s *Store) lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("dengji " + s.schema + " " + name))
	return int64(h.Sum64())
}

// writeLock names the advisory lock every Update holds to its commit.
const writeLock = "write"

// maxAttempts bounds how often Update runs a transaction that keeps
// failing on serialization.
const maxAttempts = 10

// IsURL reports whether a --store value names PostgreSQL rather than a
// bbolt data directory.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Open connects to the database at url (a postgres:// URL; a search_path
// parameter selects a schema) and brings its schema up to this binary's
// version. It refuses a database whose schema is newer.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connect: %w", err)
	}
	s := &Store{pool: pool}
	var schema *string
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: connect: %w", err)
	}
	if schema != nil {
		s.schema = *schema
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the connection pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Update runs fn in a read-write transaction under the write lock,
// retrying it after a serialization failure.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.update(ctx, fn)
		if !retryable(err) || attempt == maxAttempts {
			return err
		}
	}
}

func (s *Store) update(ctx context.Context, fn func(store.Tx) error) error {
	s.writer.Lock()
	defer s.writer.Unlock()
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(ptx pgx.Tx) error {
		if _, err := ptx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", s.lockKey(writeLock)); err != nil {
			return fmt.Errorf("pgstore: write lock: %w", err)
		}
		t := &tx{ctx: ctx, q: ptx, writer: true, buf: newBuffer()}
		if err := fn(t); err != nil {
			return err
		}
		if err := t.flush(); err != nil {
			return err
		}
		return t.saveSeq()
	})
}

// View runs fn on one snapshot of the database.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	return pgx.BeginTxFunc(ctx, s.pool, opts, func(ptx pgx.Tx) error {
		return fn(&tx{ctx: ctx, q: ptx})
	})
}

// retryable reports a failure PostgreSQL asks the client to retry.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// tx is one transaction. A writer caches the feed's sequence counter (it
// reads it once, under the write lock, and writes it back before commit)
// and buffers the push path's writes (buffer).
type tx struct {
	ctx    context.Context
	q      pgx.Tx
	writer bool

	seq       uint64
	seqLoaded bool
	seqDirty  bool

	buf *buffer // a writer's buffered writes; nil in a View
}

func (t *tx) exec(sql string, args ...any) error {
	_, err := t.q.Exec(t.ctx, sql, args...)
	return err
}

// getBytes reads one bytea value, or store.ErrNotFound.
func (t *tx) getBytes(sql string, args ...any) ([]byte, error) {
	var b []byte
	err := t.q.QueryRow(t.ctx, sql, args...).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return b, err
}

// listBytes reads the first column of every row, in the query's order.
func (t *tx) listBytes(sql string, args ...any) ([][]byte, error) {
	rows, err := t.q.Query(t.ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]byte, error) {
		var b []byte
		err := r.Scan(&b)
		return b, err
	})
}
