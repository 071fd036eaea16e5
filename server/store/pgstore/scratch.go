package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
)

// NewSchema creates a schema with a unique name in the database at dbURL
// and returns a URL whose connections use it, and a function that drops
// it with everything in it: a scratch store for tests and benchmarks on a
// database others use too.
func NewSchema(ctx context.Context, dbURL string) (schemaURL string, drop func() error, err error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", nil, fmt.Errorf("pgstore: database URL: %w", err)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "dengji_scratch_" + hex.EncodeToString(b[:])
	admin := func(sql string) error {
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			return fmt.Errorf("pgstore: connect: %w", err)
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := admin("CREATE SCHEMA " + schema); err != nil {
		return "", nil, fmt.Errorf("pgstore: create schema: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() error { return admin("DROP SCHEMA " + schema + " CASCADE") }, nil
}
