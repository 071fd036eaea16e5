// Package pgtest gives tests a PostgreSQL store of their own: a new schema
// with a unique name in the database DENGJI_TEST_POSTGRES names, dropped
// when the test ends, since other test runs share the server.
package pgtest

import (
	"context"
	"os"
	"testing"

	"github.com/dengji/dengji/server/store/pgstore"
)

// EnvURL is the variable holding the test database's URL.
const EnvURL = "DENGJI_TEST_POSTGRES"

// URL creates a fresh schema and returns a URL whose connections use it.
// Without DENGJI_TEST_POSTGRES the test is skipped, but in CI (CI=true),
// where .ci/run sets it, it fails instead.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: .ci/run sets it", EnvURL)
		}
		t.Skipf("%s is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", EnvURL)
	}
	u, drop, err := pgstore.NewSchema(context.Background(), base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("drop the test's schema: %v", err)
		}
	})
	return u
}

// Open opens a store on a fresh schema and closes it when the test ends.
func Open(t testing.TB) *pgstore.Store {
	t.Helper()
	st, err := pgstore.Open(context.Background(), URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
