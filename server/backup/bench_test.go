package backup_test

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/backup"
	"github.com/dengji/dengji/server/bench"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore"
	dsync "github.com/dengji/dengji/sync"
)

var benchRecords = flag.Int("backup.records", 100_000, "records in the store BenchmarkBackupWhilePushing backs up")

// pusher pushes batches of generated registrations, as the server's push
// handler would (validated, one transaction a batch), until stop is closed,
// counting the records pushed.
type pusher struct {
	st       store.Store
	validate store.Validator
	rng      *rand.Rand
	n        uint64
	pushed   atomic.Int64
}

func (p *pusher) batch(b *testing.B, size int) {
	chs := make([]dsync.Change, size)
	for j := range chs {
		p.n++
		chs[j] = dsync.Change{ID: fmt.Sprintf("c-%012d", p.n), Device: "dev", Counter: p.n, Record: fmt.Sprintf("r-%012d", p.n),
			Type: model.TypeRegistration, District: "430102001001", Op: dsync.OpCreate, Set: bench.Registration(p.rng, int(p.n))}
	}
	if _, err := store.Push(ctx, p.st, store.PushRequest{Device: "dev", Changes: chs, Validate: p.validate}); err != nil {
		b.Fatal(err)
	}
	p.pushed.Add(int64(size))
}

// rate pushes batches of 500 for as long as run runs and returns records/s.
func (p *pusher) rate(b *testing.B, run func()) float64 {
	done := make(chan struct{})
	go func() { run(); close(done) }()
	start, before := time.Now(), p.pushed.Load()
	for {
		select {
		case <-done:
			return float64(p.pushed.Load()-before) / time.Since(start).Seconds()
		default:
			p.batch(b, 500)
		}
	}
}

// BenchmarkBackupWhilePushing: an online backup of a store of
// -backup.records registrations while pushes go on, against the same
// pushes without it:
//
//	go test ./server/backup -run X -bench BackupWhilePushing -benchtime 1x -backup.records 1000000
func BenchmarkBackupWhilePushing(b *testing.B) {
	dir := b.TempDir()
	st, err := boltstore.Open(filepath.Join(dir, "data"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	p := &pusher{st: st, rng: rand.New(rand.NewPCG(1, 2)),
		validate: store.ModelValidator(model.Rules{ElectionDay: time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC)})}
	fill := time.Now()
	for p.pushed.Load() < int64(*benchRecords) {
		p.batch(b, 5000)
	}
	fi, _ := os.Stat(filepath.Join(dir, "data", boltstore.FileName))
	b.Logf("filled %d records in %.1f s, data file %d MiB", p.pushed.Load(), time.Since(fill).Seconds(), fi.Size()>>20)
	m, err := backup.NewManager(filepath.Join(dir, "backups"), 1, st, "bench", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		var info backup.Info
		during := p.rate(b, func() {
			if info, err = m.Take(ctx); err != nil {
				b.Error(err)
			}
		})
		without := p.rate(b, func() { time.Sleep(time.Duration(info.Seconds * float64(time.Second))) })
		b.ReportMetric(info.Seconds, "backup-s")
		b.ReportMetric(float64(info.Size>>20), "backup-MiB")
		b.ReportMetric(without, "push-without-records/s")
		b.ReportMetric(during, "push-during-records/s")
		b.ReportMetric(100*during/without, "during/without-%")
	}
}
