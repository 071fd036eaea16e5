package dedupjob_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/metrics"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dengji/dengji/server/dedup"
	"github.com/dengji/dengji/server/dedup/gen"
	"github.com/dengji/dengji/server/dedupjob"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// BenchmarkContinuous measures continuous matching (Watch) over an index
// of DEDUPJOB_CONT_RECORDS generated registrations (default 100,000)
// while four devices push more of the same generated roll (its planted
// duplicates included) as fast as the store takes them, through
// store.Push, batches of 200 (no HTTP: the server's own work). Phases of DEDUPJOB_CONT_SECONDS (default 10) alternate: on,
// off, on, off; before each on phase the backlog the off phase left is
// matched, untimed, and each on phase lasts until matching has caught up
// with what was pushed in it. During the on phases a probe pushes, every 250 ms,
// a copy of an indexed registration under a district of its own and times
// until its case is stored. Reported: push records/s on and off, their
// ratio, the probes' latency (p50, p95, max) and misses, and how long the
// full run and the rebuild of the index after a restart took (the phases
// run on the rebuilt index). DEDUPJOB_CONT_POOL (default twice the
// records) is how many registrations the devices may push;
// DEDUPJOB_CONT_EVERY_MS the watcher's interval (default
// DefaultWatchEvery). The figure of record (about 5.5 GB of memory; check
// free -g first):
//
//	DEDUPJOB_CONT_RECORDS=1000000 DEDUPJOB_CONT_POOL=400000 go test -run '^$' -bench Continuous -benchtime 1x -timeout 60m ./server/dedupjob
func BenchmarkContinuous(b *testing.B) {
	n := envInt("DEDUPJOB_CONT_RECORDS", 100000)
	phase := time.Duration(envInt("DEDUPJOB_CONT_SECONDS", 10)) * time.Second
	every := time.Duration(envInt("DEDUPJOB_CONT_EVERY_MS", int(dedupjob.DefaultWatchEvery/time.Millisecond))) * time.Millisecond
	const devices, batchSize = 4, 200
	pool := envInt("DEDUPJOB_CONT_POOL", 2*n) // registrations the devices push
	all, _ := gen.Generate(gen.DefaultConfig(n+pool, 1))
	recs, rest := all[:n], all[n:]
	st := openStore(b)
	loader := &device{id: "loader"}
	for i := 0; i < n; i += 5000 {
		loader.push(b, st, recs[i:min(i+5000, n)]...)
	}
	opt := dedupjob.DefaultOptions()
	start := time.Now()
	full, err := dedupjob.New(st, opt).Run(ctx)
	if err != nil {
		b.Fatal(err)
	}
	fullSecs := time.Since(start).Seconds()
	// A restart: a new job rebuilds the index from the store.
	job := dedupjob.New(st, opt)
	start = time.Now()
	if sum, err := job.RunIncremental(ctx); err != nil || sum.Full {
		b.Fatalf("the first run after a restart: %+v %v", sum, err)
	}
	restoreSecs := time.Since(start).Seconds()
	b.Logf("%d registrations: full run %.1f s, index rebuilt after a restart in %.1f s", n, fullSecs, restoreSecs)
	var next atomic.Int64 // of rest, the next registration to push
	pushers := make([]*pusher, devices)
	for i := range pushers {
		pushers[i] = &pusher{device: device{id: fmt.Sprintf("phone-%d", i)}, pool: rest, next: &next}
	}
	var lat []time.Duration
	missed := 0
	var rate [2]float64 // records/s: off, on
	b.ResetTimer()
	for round := range 5 { // round 0 warms up, untimed
		on := round%2 == 1
		if on {
			if _, err := job.RunIncremental(ctx); err != nil { // the off phase's backlog
				b.Fatal(err)
			}
		}
		before := readCPU()
		pctx, stop := context.WithTimeout(ctx, phase)
		var wg sync.WaitGroup
		var pushed atomic.Int64
		for _, p := range pushers {
			wg.Add(1)
			go func() { defer wg.Done(); pushed.Add(int64(p.run(b, pctx, st, batchSize))) }()
		}
		watched := make(chan struct{})
		var catchUp time.Duration
		var probes []time.Duration
		if on {
			wctx, stopWatch := context.WithCancel(ctx)
			go func() { job.Watch(wctx, every); close(watched) }()
			probes, missed = probe(b, pctx, st, recs, round, missed)
			wg.Wait()
			// The phase lasts until matching has caught up with what
			// was pushed in it: a watcher that put work off past the
			// phase's end would otherwise look cheaper than it is.
			catchUp = waitMatched(b, st, job)
			stopWatch()
			<-watched
		} else {
			wg.Wait()
		}
		stop()
		cpu := readCPU().minus(before)
		r := float64(pushed.Load()) / (phase + catchUp).Seconds()
		b.Logf("round %d (matching %v): %.0f records/s pushed, %d probes, caught up %.2f s after; %.1f CPU-s, %d collections",
			round, on, r, len(probes), catchUp.Seconds(), cpu.total, cpu.cycles)
		if round == 0 {
			continue
		}
		rate[boolInt(on)] += r / 2
		lat = append(lat, probes...)
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(rate[0], "push-off-rec/s")
	b.ReportMetric(rate[1], "push-on-rec/s")
	b.ReportMetric(rate[1]/rate[0], "on/off")
	if len(lat) > 0 {
		b.ReportMetric(lat[len(lat)/2].Seconds(), "p50-s")
		b.ReportMetric(lat[(len(lat)*95+99)/100-1].Seconds(), "p95-s")
		b.ReportMetric(lat[len(lat)-1].Seconds(), "max-s")
	}
	b.ReportMetric(float64(missed), "missed")
	b.ReportMetric(float64(full.Compared), "full-pairs")
	b.ReportMetric(fullSecs, "full-s")
	b.ReportMetric(restoreSecs, "rebuild-s")
}

// pusher is a device pushing registrations of the pool, each once.
type pusher struct {
	device
	pool []dedup.Record
	next *atomic.Int64
}

// run pushes batches until ctx ends or the pool is used up and returns the
// records applied.
func (p *pusher) run(b *testing.B, ctx context.Context, st store.Store, size int) int {
	applied := 0
	for ctx.Err() == nil {
		end := int(p.next.Add(int64(size)))
		if end > len(p.pool) {
			b.Errorf("the pool of %d registrations ran out: set DEDUPJOB_CONT_POOL higher", len(p.pool))
			return applied
		}
		res, err := store.Push(context.Background(), st, store.PushRequest{Device: p.id, Author: p.id,
			Changes: p.changes(p.pool[end-size : end])})
		if err != nil {
			b.Error(err)
			return applied
		}
		for _, r := range res {
			if r.Status == dsync.StatusApplied {
				applied++
			}
		}
	}
	return applied
}

// probe pushes, every 250 ms until ctx ends, a copy of an indexed
// registration with an ID number under a district of its own, and times
// each until a case holds it (misses: none within 60 s).
func probe(b *testing.B, ctx context.Context, st store.Store, recs []dedup.Record, round, missed int) ([]time.Duration, int) {
	d := &device{id: fmt.Sprintf("probe-%d", round)}
	rng := rand.New(rand.NewPCG(uint64(round), 3))
	var mu sync.Mutex
	var wg sync.WaitGroup
	var out []time.Duration
	for k := 0; ctx.Err() == nil; k++ {
		src := recs[rng.IntN(len(recs))]
		if src.IDNumber == "" {
			continue
		}
		dup := src
		dup.ID, dup.Ref = fmt.Sprintf("probe-%d-%d", round, k), fmt.Sprintf("probe-%d-%d", round, k)
		dup.District = fmt.Sprintf("430102%d%05d", 8+round%2, k)
		pushedAt := time.Now()
		d.push(b, st, dup)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok := waitCase(st, dup.District, pushedAt.Add(60*time.Second))
			mu.Lock()
			defer mu.Unlock()
			if ok {
				out = append(out, time.Since(pushedAt))
			} else {
				missed++
			}
		}()
		time.Sleep(250 * time.Millisecond)
	}
	wg.Wait()
	return out, missed
}

// waitMatched waits until the job's index has matched everything
// committed, and returns how long that took.
func waitMatched(b *testing.B, st store.Store, job *dedupjob.Job) time.Duration {
	start := time.Now()
	for {
		var high uint64
		err := st.View(ctx, func(tx store.Tx) (err error) { high, err = tx.HighSeq(); return err })
		s, err2 := job.Status(ctx)
		if err != nil || err2 != nil {
			b.Fatal(err, err2)
		}
		if s.Cursor >= high {
			return time.Since(start)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitCase(st store.Store, district string, deadline time.Time) bool {
	for time.Now().Before(deadline) {
		found := false
		st.View(ctx, func(tx store.Tx) error {
			cs, err := tx.DupCases(store.DupCaseQuery{Districts: []string{district}, Limit: 1})
			found = len(cs) > 0
			return err
		})
		if found {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// cpuUse is the process's CPU time (getrusage) and the garbage
// collections run.
type cpuUse struct {
	total  float64
	cycles uint64
}

func readCPU() cpuUse {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	ms := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(ms)
	secs := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return cpuUse{total: secs(ru.Utime) + secs(ru.Stime), cycles: ms[0].Value.Uint64()}
}

func (a cpuUse) minus(b cpuUse) cpuUse {
	return cpuUse{total: a.total - b.total, cycles: a.cycles - b.cycles}
}
