package pgstore

import "context"

// Exec runs one SQL statement on the store's pool, for tests that write
// what no API writes quickly (the scale benchmark's fill).
func (s *Store) Exec(ctx context.Context, sql string, args ...any) error {
	_, err := s.pool.Exec(ctx, sql, args...)
	return err
}
