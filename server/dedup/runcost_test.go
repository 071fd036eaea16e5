package dedup_test

import (
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/dengji/dengji/server/dedup"
	"github.com/dengji/dengji/server/dedup/gen"
)

// TestRunCost (DEDUP_RUN_COST=n; DEDUP_SPLIT=s to set SplitBlock,
// DEDUP_CPUPROFILE=file for a profile of the run alone, DEDUP_MEMPROFILE=file
// for the heap the run leaves, its index included) generates a roll of
// n (seed 1), then measures one full run of it: the CPU the process spent
// in it (getrusage), its wall time and the peak resident set during it
// (the roll, which the process holds, included), and the quality.
func TestRunCost(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("DEDUP_RUN_COST"))
	if n == 0 {
		t.Skip("DEDUP_RUN_COST unset")
	}
	recs, truth := gen.Generate(gen.DefaultConfig(n, 1))
	opt := dedup.DefaultOptions()
	if s, _ := strconv.Atoi(os.Getenv("DEDUP_SPLIT")); s > 0 {
		opt.SplitBlock = s
	}
	if f := os.Getenv("DEDUP_CPUPROFILE"); f != "" {
		w, err := os.Create(f)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if err := pprof.StartCPUProfile(w); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	resetHWM := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	cpu0, start := cpuSeconds(), time.Now()
	res, ix, err := dedup.Run(recs, opt)
	wall, cpu := time.Since(start), cpuSeconds()-cpu0
	pprof.StopCPUProfile()
	if err != nil {
		t.Fatal(err)
	}
	if f := os.Getenv("DEDUP_MEMPROFILE"); f != "" {
		w, err := os.Create(f)
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		if err := pprof.WriteHeapProfile(w); err != nil {
			t.Fatal(err)
		}
		w.Close()
		runtime.KeepAlive(ix)
	}
	rss := 0.0
	if resetHWM {
		rss = vmHWM() / 1024
	}
	rep, err := dedup.Evaluate(recs, truth, res, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d records: %.1f CPU-s, %.1f s, peak RSS %.2f GiB; %d comparisons, %d split, %d oversized; precision %.4f recall %.4f auto %.4f",
		n, cpu, wall.Seconds(), rss, res.Stats.Comparisons, res.Stats.SplitBlocks, res.Stats.OversizedBlocks,
		rep.Engine.Precision, rep.Engine.Recall, rep.Engine.AutoPrecision)
}

// cpuSeconds is the user and system CPU the process has spent.
func cpuSeconds() float64 {
	var r syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
		return 0
	}
	return float64(r.Utime.Sec+r.Stime.Sec) + float64(r.Utime.Usec+r.Stime.Usec)/1e6
}
