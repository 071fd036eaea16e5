package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/bench"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// BenchPush measures the server's side of a push alone: merge, model
// validation and the commit of a batch of 1,000 new registrations, on
// any backend.
func BenchPush(b *testing.B, s store.Store) {
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
