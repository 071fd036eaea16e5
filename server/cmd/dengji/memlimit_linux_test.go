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
	budget, ok := memoryBudget()
	if total := uint64(si.Totalram) * uint64(si.Unit); !ok || budget == 0 || budget > total {
		t.Fatalf("budget %d (%v), want between 1 and the machine's %d", budget, ok, total)
	}

	t.Setenv("GOMEMLIMIT", "")
	debug.SetMemoryLimit(math.MaxInt64)
	limitMemory()
	if got, want := debug.SetMemoryLimit(-1), int64(float64(budget)*memoryShare); got != want {
		t.Fatalf("limit %d, want %d (%.1f of %d)", got, want, memoryShare, budget)
	}

	t.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetMemoryLimit(1 << 30)
	limitMemory()
	if got := debug.SetMemoryLimit(-1); got != 1<<30 {
		t.Fatalf("GOMEMLIMIT set: limit changed to %d", got)
	}
}
