// Package bolttest opens real bbolt stores for tests, in a temporary
// directory that is removed with the test.
package bolttest

import (
	"testing"

	"github.com/dengji/dengji/server/store/boltstore"
)

// Open opens a fresh store in t.TempDir() and closes it when the test ends.
func Open(t testing.TB) *boltstore.Store {
	t.Helper()
	st, err := boltstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
