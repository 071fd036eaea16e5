package pgstore_test

import (
	"testing"

	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/pgstore/pgtest"
	"github.com/dengji/dengji/server/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return pgtest.Open(t) })
}

// BenchmarkPush measures the server's side of a push alone on PostgreSQL
// (storetest.BenchPush).
func BenchmarkPush(b *testing.B) {
	storetest.BenchPush(b, pgtest.Open(b))
}
