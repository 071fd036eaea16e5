package roll_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dengji/dengji/model/idcard"
	"github.com/dengji/dengji/server/roll"
)

// genCSV streams n registration rows in a pipe, so the file is never held
// in memory either by the benchmark or by the import.
func genCSV(n int) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		bw := make([]byte, 0, 64<<10)
		bw = append(bw, "姓名,性别,出生日期,身份证号,户籍地址,联系电话,选区,选民小组\n"...)
		surnames := []string{"李", "王", "张", "刘", "陈", "杨", "黄", "赵"}
		given := []string{"碧辉", "峻青", "雄", "倩", "灿辉", "金", "建国", "秀英"}
		districts := []string{"430102001001", "430102001002", "430102002001"} // withDistricts'
		start := time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range n {
			birth := start.AddDate(0, 0, i%23000)
			seq := i / 23000 % 1000
			first17 := fmt.Sprintf("430102%s%03d", birth.Format("20060102"), seq)
			c, _ := idcard.CheckDigit(first17)
			gender := "女"
			if seq%2 == 1 {
				gender = "男"
			}
			bw = fmt.Appendf(bw, "%s%s,%s,%s,%s%c,长沙市芙蓉区%d号,138%08d,%s,第%d组\n",
				surnames[i%len(surnames)], given[i/7%len(given)], gender, birth.Format(time.DateOnly),
				first17, c, i%500, i, districts[i%len(districts)], 1+i%9)
			if len(bw) > 60<<10 {
				if _, err := pw.Write(bw); err != nil {
					return
				}
				bw = bw[:0]
			}
		}
		pw.Write(bw)
		pw.Close()
	}()
	return pr
}

// peakHeap samples the live heap while the import runs.
func peakHeap(stop <-chan struct{}) *atomic.Uint64 {
	var peak atomic.Uint64
	go func() {
		var ms runtime.MemStats
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return &peak
}

// BenchmarkImport1M imports one million rows into a fresh bbolt store:
//
//	go test ./server/roll -run '^$' -bench Import1M -benchtime 1x
func BenchmarkImport1M(b *testing.B) {
	benchImport(b, 1_000_000)
}

// BenchmarkImport100k is the same at a tenth of the size, for profiling.
func BenchmarkImport100k(b *testing.B) {
	benchImport(b, 100_000)
}

func benchImport(b *testing.B, n int) {
	for range b.N {
		b.StopTimer()
		st := openStore(b)
		withDistricts(b, st)
		runtime.GC()
		stop := make(chan struct{})
		peak := peakHeap(stop)
		b.StartTimer()
		t0, cpu0 := time.Now(), cpuTime()
		batch, _ := strconv.Atoi(os.Getenv("ROLL_BENCH_BATCH")) // 0: the default
		rep, err := roll.ImportRegistrations(context.Background(), st, genCSV(n), roll.Options{BatchSize: batch})
		el := time.Since(t0)
		close(stop)
		if err != nil || rep.Imported != n {
			b.Fatalf("imported %d of %d (%+v): %v", rep.Imported, n, rep.Errors[:min(3, len(rep.Errors))], err)
		}
		b.ReportMetric(float64(n)/el.Seconds(), "rows/s")
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
		// CPU seconds used (all goroutines, user and system): on a shared
		// machine this is the figure that does not depend on the neighbours.
		b.ReportMetric((cpuTime() - cpu0).Seconds(), "cpu-s")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTallyFirstCount is a starting server's first count of every
// record for the console's overview, over ROLL_BENCH_TALLY rows (default
// 200,000) imported into a fresh bbolt store:
//
//	ROLL_BENCH_TALLY=1000000 go test ./server/roll -run '^$' -bench TallyFirstCount -benchtime 1x
func BenchmarkTallyFirstCount(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("ROLL_BENCH_TALLY"))
	if n == 0 {
		n = 200_000
	}
	st := openStore(b)
	withDistricts(b, st)
	if rep, err := roll.ImportRegistrations(context.Background(), st, genCSV(n), roll.Options{}); err != nil || rep.Imported != n {
		b.Fatalf("imported %d of %d: %v", rep.Imported, n, err)
	}
	b.ResetTimer()
	for range b.N {
		tally := roll.NewTally()
		t0, cpu0 := time.Now(), cpuTime()
		if err := tally.Refresh(context.Background(), st); err != nil {
			b.Fatal(err)
		}
		el := time.Since(t0)
		got := 0
		for _, u := range tally.Stats(nil).Units {
			if u.Level == roll.LevelTotal {
				got = u.Registered
			}
		}
		if got != n {
			b.Fatalf("counted %d registered, want %d", got, n)
		}
		b.ReportMetric(float64(n)/el.Seconds(), "records/s")
		b.ReportMetric((cpuTime() - cpu0).Seconds(), "cpu-s")
	}
}
