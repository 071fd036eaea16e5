package main

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
)

// memoryShare is the share of the machine's memory (or of the cgroup's
// limit, if lower) a dengji process lets its heap grow to before its
// collector works harder, unless GOMEMLIMIT says otherwise.
//
// Go lets a heap grow to twice what was live at the last collection: a
// province's full duplicate check, 11 GB live, peaked at 19 GB of a 24 GB
// machine and pushed PostgreSQL's table out of the page cache. Under a
// limit it collects a few more times near the end instead.
const memoryShare = 0.6

// limitMemory sets the runtime's soft memory limit to memoryShare of the
// memory this process may use, unless GOMEMLIMIT sets it.
func limitMemory() {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	if total, ok := memoryBudget(); ok {
		debug.SetMemoryLimit(int64(float64(total) * memoryShare))
	}
}

// memoryBudget is the machine's memory, or its cgroup's limit if lower.
func memoryBudget() (uint64, bool) {
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) != nil {
		return 0, false
	}
	total := uint64(si.Totalram) * uint64(si.Unit)
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && n < total {
			total = n // "max" when unlimited does not parse
		}
	}
	return total, true
}
