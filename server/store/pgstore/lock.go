package pgstore

import (
	"context"

	"github.com/dengji/dengji/server/store"
)

var _ store.RunLocker = (*Store)(nil)

// TryLock takes a session-level advisory lock named name on a connection
// of its own, held until unlock (or until the process, and with it the
// session, ends: a crashed server never leaves the lock behind). Advisory
// locks belong to the database, so the key hashes the store's schema with
// the name: servers of one schema share the lock, and a store in another
// schema of the same database (another county, a test) has its own.
func (s *Store) TryLock(ctx context.Context, name string) (unlock func(), ok bool, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, err
	}
	var key int64
	err = conn.QueryRow(ctx, `SELECT k, pg_try_advisory_lock(k)
		FROM (SELECT hashtextextended('dengji run lock ' || current_schema() || ' ' || $1, 0) AS k) key`, name).Scan(&key, &ok)
	if err != nil || !ok {
		conn.Release()
		return nil, false, err
	}
	return func() {
		if _, err := conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", key); err != nil {
			// The session may still hold it: close it rather than pool it.
			conn.Hijack().Close(context.Background())
			return
		}
		conn.Release()
	}, true, nil
}
