package main

import (
	"math"
	"runtime/debug"
	"syscall"
	"testing"
)

// Without GOMEMLIMIT, a dengji process limits its heap to memoryShare of
// the machine's memory (or its cgroup's); with it, the runtime's reading
// stands.
func TestLimitMemory(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil {
		t.Fatal(err)
	}
	total := float64(uint64(si.Totalram) * uint64(si.Unit))

	t.Setenv("GOMEMLIMIT", "")
	debug.SetMemoryLimit(math.MaxInt64)
	limitMemory()
	got := float64(debug.SetMemoryLimit(-1))
	if got <= 0 || got > total*memoryShare*1.0001 {
		t.Fatalf("limit %.0f, want at most %.0f (%.1f of %.0f)", got, total*memoryShare, memoryShare, total)
	}

	t.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetMemoryLimit(1 << 30)
	limitMemory()
	if got := debug.SetMemoryLimit(-1); got != 1<<30 {
		t.Fatalf("GOMEMLIMIT set: limit changed to %d", got)
	}
}
