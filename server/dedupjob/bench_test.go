package dedupjob_test

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/dengji/dengji/server/dedup/gen"
	"github.com/dengji/dengji/server/dedupjob"
)

// BenchmarkRunIncremental measures an incremental run of 1,000 new
// registrations after a full run over DEDUPJOB_BENCH_RECORDS (default
// 10,000) pushed through store.Push; the full run's seconds are reported as
// full-s. For the figure of record:
//
//	DEDUPJOB_BENCH_RECORDS=100000 go test -run '^$' -bench RunIncremental -benchtime 3x ./server/dedupjob
func BenchmarkRunIncremental(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("DEDUPJOB_BENCH_RECORDS")); err == nil && v > 0 {
		n = v
	}
	const late = 1000
	recs, _ := gen.Generate(gen.DefaultConfig(n+late, 1))
	st := openStore(b)
	d := &device{id: "bench"}
	for i := 0; i < n; i += 5000 {
		d.push(b, st, recs[i:min(i+5000, n)]...)
	}
	job := dedupjob.New(st, dedupjob.DefaultOptions())
	start := time.Now()
	if _, err := job.Run(ctx); err != nil {
		b.Fatal(err)
	}
	full := time.Since(start)
	d.push(b, st, recs[n:]...)
	b.ResetTimer()
	for range b.N {
		sum, err := job.RunIncremental(ctx)
		if err != nil || sum.Full || sum.Records != late {
			b.Fatalf("%+v %v", sum, err)
		}
	}
	b.ReportMetric(full.Seconds(), "full-s")
}
