package pgstore

import (
	"context"

	"github.com/dengji/dengji/server/store"
)

var _ store.RunLocker = (*Store)(nil)

// TryLock takes a session-level advisory lock named name on a connection
// of its own, held until unlock (or until the process, and with it the
// session, ends: a crashed server never leaves the lock behind).
func (s *Store) TryLock(ctx context.Context, name string) (unlock func(), ok bool, err error) {
	key := s.lockKey("run " + name)
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, err
	}
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok); err != nil || !ok {
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
