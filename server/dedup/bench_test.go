package dedup_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/dengji/dengji/server/dedup"
	"github.com/dengji/dengji/server/dedup/gen"
)

func peakHeapMB() float64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapSys) / (1 << 20)
}

func BenchmarkFullRun1M(b *testing.B) {
	recs, truth := gen.Generate(gen.DefaultConfig(1000000, 1))
	opt := dedup.DefaultOptions()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		res, _, err := dedup.Run(recs, opt)
		if err != nil {
			b.Fatal(err)
		}
		el := time.Since(start)
		b.StopTimer()
		rep, _ := dedup.Evaluate(recs, truth, res, opt)
		b.ReportMetric(float64(len(recs))/el.Seconds(), "records/s")
		b.ReportMetric(rep.Engine.Precision, "precision")
		b.ReportMetric(rep.Engine.Recall, "recall")
		b.ReportMetric(rep.Engine.AutoPrecision, "auto-precision")
		b.ReportMetric(100*rep.Engine.ReviewShare, "review%")
		b.ReportMetric(peakHeapMB(), "heapMB")
		b.StartTimer()
	}
}

func BenchmarkIncremental10k(b *testing.B) {
	recs, _ := gen.Generate(gen.DefaultConfig(1010000, 1))
	opt := dedup.DefaultOptions()
	_, ix, err := dedup.Run(recs[:1000000], opt)
	if err != nil {
		b.Fatal(err)
	}
	batch := recs[1000000:]
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if _, err := ix.Match(batch); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(batch))/time.Since(start).Seconds(), "records/s")
	}
	b.ReportMetric(peakHeapMB(), "heapMB")
}
