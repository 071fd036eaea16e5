package bench

import (
	"context"
	"testing"
)

// BenchmarkWorstCasePushes sends 100 concurrent worst-case pushes (gzip'd
// bodies expanding to 31 MiB) and fails if the process's peak resident set
// reaches 1 GiB (issue #9). Run alone:
//
//	go test ./server/bench -run X -bench WorstCasePushes -benchtime 1x
func BenchmarkWorstCasePushes(b *testing.B) {
	for range b.N {
		f, err := WorstCasePushes(context.Background(), b.TempDir(), 100)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%+v", *f)
		b.ReportMetric(f.PeakRSSMiB, "peak-RSS-MiB")
		if f.PeakRSSMiB >= 1024 {
			b.Fatalf("peak RSS %.0f MiB for %d concurrent worst-case pushes", f.PeakRSSMiB, f.Pushes)
		}
	}
}
