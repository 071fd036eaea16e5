package boltstore_test

import (
	"errors"
	"testing"

	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore"
	"github.com/dengji/dengji/server/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := boltstore.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestOpen_ErrBusyWhileOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := boltstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := boltstore.Open(dir); !errors.Is(err, store.ErrBusy) {
		t.Fatalf("second open: %v", err)
	}
}

// BenchmarkPush measures the server's side of a push alone on bbolt
// (storetest.BenchPush).
func BenchmarkPush(b *testing.B) {
	s, err := boltstore.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchPush(b, s)
}
