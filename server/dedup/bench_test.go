package dedup_test

import (
	"bytes"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/dengji/dengji/server/dedup"
	"github.com/dengji/dengji/server/dedup/gen"
)

// peak measures memory while fn runs.
type peak struct {
	// RSSMB is the process's peak resident set during fn (VmHWM after
	// resetting it through /proc/self/clear_refs; 0 where unsupported). It
	// includes what the caller already held (the input records).
	RSSMB float64
	// GoMB is the peak of the memory the Go runtime had mapped and not
	// returned (all memory classes minus released heap), sampled every
	// 2 ms: the process-wide figure that does not depend on /proc.
	GoMB float64
	// EngineMB is the peak of live-or-unswept heap objects minus their
	// amount when fn started (after a GC): what the engine itself added.
	EngineMB float64
}

func measurePeak(fn func()) peak {
	runtime.GC()
	samples := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() (goMem, objects uint64) {
		metrics.Read(samples)
		return samples[0].Value.Uint64() - samples[1].Value.Uint64(), samples[2].Value.Uint64()
	}
	_, base := read()
	resetHWM := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	var maxGo, maxObj uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			g, o := read()
			maxGo, maxObj = max(maxGo, g), max(maxObj, o)
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	p := peak{GoMB: float64(maxGo) / (1 << 20), EngineMB: float64(maxObj-min(maxObj, base)) / (1 << 20)}
	if resetHWM {
		p.RSSMB = vmHWM()
	}
	return p
}

// vmHWM returns the peak resident set size in MiB from /proc/self/status.
func vmHWM() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			f := bytes.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseFloat(string(f[0]), 64)
				return kb / 1024
			}
		}
	}
	return 0
}

func (p peak) report(b *testing.B) {
	b.ReportMetric(p.RSSMB, "peakRSS-MB")
	b.ReportMetric(p.GoMB, "peakGo-MB")
	b.ReportMetric(p.EngineMB, "engine-MB")
}

func reportQuality(b *testing.B, rep dedup.Report) {
	b.ReportMetric(rep.Engine.Precision, "precision")
	b.ReportMetric(rep.Engine.Recall, "recall")
	b.ReportMetric(rep.Engine.AutoPrecision, "auto-precision")
	b.ReportMetric(100*rep.Engine.ReviewShare, "review%")
}

func BenchmarkFullRun1M(b *testing.B) {
	recs, truth := gen.Generate(gen.DefaultConfig(1000000, 1))
	opt := dedup.DefaultOptions()
	b.ResetTimer()
	for b.Loop() {
		var res *dedup.Result
		var el time.Duration
		p := measurePeak(func() {
			start := time.Now()
			var err error
			if res, _, err = dedup.Run(recs, opt); err != nil {
				b.Fatal(err)
			}
			el = time.Since(start)
		})
		b.StopTimer()
		rep, _ := dedup.Evaluate(recs, truth, res, opt)
		b.ReportMetric(el.Seconds(), "seconds")
		b.ReportMetric(float64(len(recs))/el.Seconds(), "records/s")
		reportQuality(b, rep)
		p.report(b)
		b.StartTimer()
	}
}

// BenchmarkIncremental10k matches 10,000 new records against an index of
// one million; quality is measured over the whole roll (the full run's
// clusters and the batch's, as a server would hold them).
func BenchmarkIncremental10k(b *testing.B) {
	recs, truth := gen.Generate(gen.DefaultConfig(1010000, 1))
	opt := dedup.DefaultOptions()
	_, ix, err := dedup.Run(recs[:1000000], opt)
	if err != nil {
		b.Fatal(err)
	}
	batch := recs[1000000:]
	b.ResetTimer()
	for b.Loop() {
		var res *dedup.Result
		var el time.Duration
		p := measurePeak(func() {
			start := time.Now()
			if res, err = ix.Match(batch); err != nil {
				b.Fatal(err)
			}
			el = time.Since(start)
		})
		b.StopTimer()
		b.ReportMetric(el.Seconds(), "seconds")
		b.ReportMetric(float64(len(batch))/el.Seconds(), "records/s")
		reportQuality(b, batchReport(recs, truth, 1000000, res, opt))
		p.report(b)
		b.StartTimer()
	}
	b.StopTimer()
	// Add (Match, then keep the batch in the index) costs a little more:
	// the batch's postings are merged into the index.
	start := time.Now()
	if _, err := ix.Add(batch); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(start).Seconds(), "add-seconds")
}

// batchReport measures an incremental result over the pairs that touch a
// batch record (records from index n on): pairs inside the index were
// judged by the full run.
func batchReport(recs []dedup.Record, truth []string, n int, res *dedup.Result, opt dedup.Options) dedup.Report {
	ent := make(map[string]string, len(recs))
	byEnt := map[string][]int{}
	for i, r := range recs {
		ent[r.ID] = truth[i]
		byEnt[truth[i]] = append(byEnt[truth[i]], i)
	}
	inBatch := func(id string) bool { return len(id) > 0 && atoiID(id) > n }
	truePairs := 0
	for _, ms := range byEnt {
		for x := range ms {
			for y := x + 1; y < len(ms); y++ {
				if ms[x] >= n || ms[y] >= n {
					truePairs++
				}
			}
		}
	}
	var m dedup.Metrics
	seen := map[[2]string]bool{}
	review := map[string]bool{}
	autoTP := 0
	for _, c := range res.Clusters {
		for i := range c.Records {
			for j := i + 1; j < len(c.Records); j++ {
				a, bb := c.Records[i], c.Records[j]
				if !inBatch(a) && !inBatch(bb) || seen[[2]string{a, bb}] {
					continue
				}
				seen[[2]string{a, bb}] = true
				m.Pairs++
				tp := ent[a] == ent[bb]
				if tp {
					m.TruePositives++
				}
				if c.Decision == dedup.Auto {
					m.AutoPairs++
					if tp {
						autoTP++
					}
				}
			}
		}
		if c.Decision == dedup.Review {
			for _, r := range c.Records {
				if inBatch(r) {
					review[r] = true
				}
			}
		}
	}
	div := func(a, b int) float64 {
		if b == 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	m.Precision, m.Recall, m.AutoPrecision = div(m.TruePositives, m.Pairs), div(m.TruePositives, truePairs), div(autoTP, m.AutoPairs)
	m.ReviewRecords, m.ReviewShare = len(review), div(len(review), len(recs)-n)
	return dedup.Report{Engine: m}
}

// atoiID reads the generator's record number from "R<number>" (1-based).
func atoiID(id string) int {
	v, _ := strconv.Atoi(id[1:])
	return v
}
