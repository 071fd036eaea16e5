package boltstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/bench"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore"
	"github.com/dengji/dengji/server/store/storetest"
	dsync "github.com/dengji/dengji/sync"
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

// BenchmarkPush measures the server's side of a push alone: merge, model
// validation and the bbolt commit of a batch of 1,000 new registrations.
func BenchmarkPush(b *testing.B) {
	s, err := boltstore.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	validate := store.ModelValidator(model.Rules{ElectionDay: time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC)})
	rng := rand.New(rand.NewPCG(1, 2))
	const batch = 1000
	n := uint64(0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		chs := make([]dsync.Change, batch)
		for j := range chs {
			n++
			chs[j] = dsync.Change{ID: fmt.Sprintf("c-%012d", n), Device: "dev", Counter: n, Record: fmt.Sprintf("r-%012d", n),
				Type: model.TypeRegistration, District: "430102001001", Op: dsync.OpCreate, Set: bench.Registration(rng, int(n))}
		}
		b.StartTimer()
		if _, err := store.Push(context.Background(), s, store.PushRequest{Device: "dev", Changes: chs, Validate: validate}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
}
