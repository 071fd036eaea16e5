// Package chaos runs seeded fault schedules against a real server and real
// device stores and checks, after each run, that nothing any device typed was
// lost, applied twice or silently overwritten.
//
// A run draws from its seed a population of registrars' phones (districts,
// clock skew) and a sequence of steps: offline creates, updates, deletes and
// migrant contacts, syncs through a fault-injecting transport (requests
// duplicated, delayed, delivered again out of order, cut before or after the
// server commits, the server killed mid-request), the server killed between
// requests, a device process dying around an edit, a device file replaced by
// an older copy, and a coordinator deciding conflicts while devices sync.
// Then every device syncs without faults and the invariants are checked
// against the model of what each device did and the server's change log.
// A failing run is shrunk (delta debugging over its steps) to a short
// sequence that still fails, printed with the command that replays it.
package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config is a batch of runs.
type Config struct {
	Runs int
	Seed uint64 // run i uses seed Seed+i
	Size Size
	// Backend makes the server of one run on the data directory dir.
	Backend func(dir string) Backend
	// Dir holds the runs' files; a temporary directory if empty.
	Dir string
	// Only, if set, keeps only these steps of each run's plan (a replay).
	Only []int
	// Faults, if set, replaces the fault lists of these steps (a replay).
	Faults map[int][]Fault
	// Parallel is how many runs go at once (default 1).
	Parallel int
	// NoShrink reports a failing run as it is.
	NoShrink bool
	// MaxShrinkRuns bounds the runs spent shrinking one failure (default 200).
	MaxShrinkRuns int
	// Replay is the command line that replays a run, before its flags.
	Replay string
	// Progress, if set, gets a line every so many runs.
	Progress io.Writer
}

// Stats are the figures of a batch of runs.
type Stats struct {
	Runs, Devices, Steps, Edits, Syncs, FailedSyncs int
	Decisions, RecordRestores, DeviceRestores       int
	DuplicateDecisions                              int
	DeviceCrashes, Conflicts, Refused               int
	RefusedOnDevice                                 int
	Faults                                          [numFaults]int
	Wall                                            time.Duration
}

// MarshalJSON writes the faults by name.
func (s Stats) MarshalJSON() ([]byte, error) {
	type plain Stats
	faults := map[string]int{}
	for f := FaultDuplicate; f < numFaults; f++ {
		faults[f.String()] = s.Faults[f]
	}
	return json.Marshal(struct {
		plain
		Faults      map[string]int
		WallSeconds float64
	}{plain(s), faults, s.Wall.Seconds()})
}

func (s *Stats) add(o Stats) {
	s.Runs += o.Runs
	s.Devices += o.Devices
	s.Steps += o.Steps
	s.Edits += o.Edits
	s.Syncs += o.Syncs
	s.FailedSyncs += o.FailedSyncs
	s.Decisions += o.Decisions
	s.DuplicateDecisions += o.DuplicateDecisions
	s.RecordRestores += o.RecordRestores
	s.DeviceRestores += o.DeviceRestores
	s.DeviceCrashes += o.DeviceCrashes
	s.Conflicts += o.Conflicts
	s.Refused += o.Refused
	s.RefusedOnDevice += o.RefusedOnDevice
	for i := range s.Faults {
		s.Faults[i] += o.Faults[i]
	}
}

// String is the figures in one paragraph, Chinese first.
func (s Stats) String() string {
	var faults []string
	for f := FaultDuplicate; f < numFaults; f++ {
		faults = append(faults, fmt.Sprintf("%s %d", f, s.Faults[f]))
	}
	return fmt.Sprintf("运行 / runs %d, 设备 / devices %d, 步骤 / steps %d, 编辑 / edits %d, 同步 / syncs %d (%d 因故障中断 / cut short by faults), "+
		"冲突 / conflicts %d, 协调员决定 / decisions %d (恢复记录 / record restores %d), 重复登记决定 / duplicate decisions %d, 服务器拒绝 / refused by the server %d (设备上拒绝 / on the device %d), "+
		"设备崩溃 / device crashes %d, 设备文件还原 / device files restored %d\n故障 / faults: %s\n用时 / wall time %s",
		s.Runs, s.Devices, s.Steps, s.Edits, s.Syncs, s.FailedSyncs, s.Conflicts, s.Decisions, s.RecordRestores, s.DuplicateDecisions, s.Refused, s.RefusedOnDevice,
		s.DeviceCrashes, s.DeviceRestores, strings.Join(faults, ", "), s.Wall.Round(time.Millisecond))
}

// Failure is a run that broke an invariant, shrunk: its seed, the steps
// that still fail (indexes into the seed's plan), what broke, and the
// command that replays it.
type Failure struct {
	Seed     uint64
	Plan     *Plan           // the seed's whole plan
	Steps    []int           // the shrunk sequence
	Faults   map[int][]Fault // steps whose faults were shrunk too
	Problems []string
	Replay   string
}

func (f *Failure) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "chaos: seed %d broke %d invariant(s):\n", f.Seed, len(f.Problems))
	for i, p := range f.Problems {
		if i == 5 {
			fmt.Fprintf(&b, "  … %d more\n", len(f.Problems)-5)
			break
		}
		fmt.Fprintf(&b, "  - %s\n", p)
	}
	fmt.Fprintf(&b, "devices:\n")
	for i, d := range f.Plan.Devices {
		fmt.Fprintf(&b, "  dev%d scope %v clock %+v\n", i, d.Scope, d.Skew)
	}
	fmt.Fprintf(&b, "%d of the plan's %d steps still fail:\n", len(f.Steps), len(f.Plan.Ops))
	for _, i := range f.Steps {
		fmt.Fprintf(&b, "  %3d %s\n", i, f.Plan.Ops[i])
	}
	fmt.Fprintf(&b, "replay: %s", f.Replay)
	return b.String()
}

// Run runs cfg.Runs seeded runs, cfg.Parallel at a time, and stops at the
// first failure, which it shrinks. The error is a *Failure or what kept the
// harness from running.
func Run(ctx context.Context, cfg Config) (Stats, error) {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	seeds := make(chan uint64)
	go func() {
		defer close(seeds)
		for i := 0; i < cfg.Runs && ctx.Err() == nil; i++ {
			seeds <- cfg.Seed + uint64(i)
		}
	}()
	var (
		mu    sync.Mutex
		total Stats
		first error // the first failure or harness error
		fail  *outcome
	)
	var wg sync.WaitGroup
	for range cfg.Parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seed := range seeds {
				o := cfg.runSeed(ctx, seed)
				mu.Lock()
				total.add(o.stats)
				switch {
				case first == nil && o.err != nil && ctx.Err() == nil:
					first = fmt.Errorf("chaos: seed %d: %w", seed, o.err)
					cancel()
				case first == nil && len(o.problems) > 0:
					first, fail = errors.New("failed"), &o
					cancel()
				}
				if cfg.Progress != nil && total.Runs%50 == 0 && first == nil {
					fmt.Fprintf(cfg.Progress, "%d/%d runs passed (%s)\n", total.Runs, cfg.Runs, time.Since(start).Round(time.Second))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	total.Wall = time.Since(start)
	if fail != nil {
		return total, cfg.failure(context.WithoutCancel(ctx), fail.plan, fail.steps, fail.problems)
	}
	return total, first
}

// outcome is one run's result.
type outcome struct {
	plan     *Plan
	steps    []int
	stats    Stats
	problems []string
	err      error
}

func (cfg Config) runSeed(ctx context.Context, seed uint64) outcome {
	o := outcome{plan: NewPlan(seed, cfg.Size).WithFaults(cfg.Faults), steps: cfg.Only}
	if o.steps == nil {
		o.steps = allSteps(o.plan)
	}
	o.stats, o.problems, o.err = runPlan(ctx, cfg, o.plan, o.steps)
	return o
}

func (cfg Config) withDefaults() Config {
	if cfg.Size == (Size{}) {
		cfg.Size = DefaultSize
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 1
	}
	if cfg.MaxShrinkRuns == 0 {
		cfg.MaxShrinkRuns = 200
	}
	if cfg.Replay == "" {
		cfg.Replay = "dengji chaos"
	}
	return cfg
}

func allSteps(p *Plan) []int {
	out := make([]int, len(p.Ops))
	for i := range out {
		out[i] = i
	}
	return out
}

// failure shrinks a failing run and words it: first its steps, then the
// faults of the steps left, one at a time.
func (cfg Config) failure(ctx context.Context, plan *Plan, steps []int, problems []string) *Failure {
	faults := maps.Clone(cfg.Faults)
	if faults == nil {
		faults = map[int][]Fault{}
	}
	if !cfg.NoShrink {
		budget := cfg.MaxShrinkRuns
		fails := func(p *Plan, keep []int) bool {
			if budget <= 0 {
				return false
			}
			budget--
			_, found, err := runPlan(ctx, cfg, p, keep)
			if err == nil && len(found) > 0 {
				problems = found
				return true
			}
			return false
		}
		steps = shrink(steps, func(keep []int) bool { return fails(plan, keep) })
		for _, i := range steps {
			for j := 0; j < len(plan.Ops[i].Faults); {
				fewer := slices.Delete(slices.Clone(plan.Ops[i].Faults), j, j+1)
				if p := plan.WithFaults(map[int][]Fault{i: fewer}); fails(p, steps) {
					plan, faults[i] = p, fewer
				} else {
					j++
				}
			}
		}
	}
	replay := fmt.Sprintf("%s --runs 1 --seed %d --only %s", cfg.Replay, plan.Seed, FormatSteps(steps))
	if len(faults) > 0 {
		replay += " --faults " + FormatFaults(faults)
	}
	return &Failure{Seed: plan.Seed, Plan: plan, Steps: steps, Faults: faults, Problems: problems, Replay: replay}
}

// FormatFaults writes fault lists by step: 13=kill_server+delay,20=none.
func FormatFaults(faults map[int][]Fault) string {
	var parts []string
	for _, i := range slices.Sorted(maps.Keys(faults)) {
		names := []string{}
		for _, f := range faults[i] {
			names = append(names, f.String())
		}
		if len(names) == 0 {
			names = []string{"none"}
		}
		parts = append(parts, fmt.Sprintf("%d=%s", i, strings.Join(names, "+")))
	}
	return strings.Join(parts, ",")
}

// ParseFaults reads what FormatFaults writes.
func ParseFaults(s string) (map[int][]Fault, error) {
	out := map[int][]Fault{}
	for _, part := range strings.Split(s, ",") {
		step, list, ok := strings.Cut(part, "=")
		i, err := strconv.Atoi(step)
		if !ok || err != nil || i < 0 {
			return nil, fmt.Errorf("chaos: bad step faults %q", part)
		}
		out[i] = []Fault{}
		for _, name := range strings.Split(list, "+") {
			f := slices.Index(faultNames[:], name)
			switch {
			case f < 0:
				return nil, fmt.Errorf("chaos: unknown fault %q", name)
			case f > 0:
				out[i] = append(out[i], Fault(f))
			}
		}
	}
	return out, nil
}

// runPlan runs the given steps of plan on a fresh server and fresh devices,
// heals, and checks. An error is the harness failing to run, problems are
// invariants broken (a step the system refused that it should have taken
// is one too).
func runPlan(ctx context.Context, cfg Config, plan *Plan, steps []int) (Stats, []string, error) {
	st := Stats{Runs: 1, Devices: len(plan.Devices), Steps: len(steps)}
	root := cfg.Dir
	if root == "" {
		root = os.TempDir()
	}
	dir, err := os.MkdirTemp(root, fmt.Sprintf("chaos-%d-", plan.Seed))
	if err != nil {
		return st, nil, err
	}
	defer os.RemoveAll(dir)
	w := &world{ctx: ctx, plan: plan, backend: cfg.Backend(filepath.Join(dir, "server")), dir: dir,
		stats: &st, known: map[string][]string{}}
	if c, ok := w.backend.(interface{ Cleanup() error }); ok {
		defer c.Cleanup()
	}
	defer w.stop()
	if err := w.start(); err != nil {
		return st, nil, err
	}
	for _, i := range steps {
		if err := ctx.Err(); err != nil {
			return st, nil, err
		}
		if err := w.exec(plan.Ops[i]); err != nil {
			return st, []string{fmt.Sprintf("step %d (%s): %v", i, plan.Ops[i], err)}, nil
		}
	}
	if err := w.join(); err != nil {
		return st, []string{fmt.Sprintf("console: %v", err)}, nil
	}
	if err := w.heal(); err != nil {
		return st, []string{err.Error()}, nil
	}
	if err := w.backend.Kill(); err != nil {
		return st, nil, err
	}
	problems, err := w.check()
	return st, problems, err
}

// shrink is delta debugging (Zeller's ddmin) over a failing run's steps:
// it removes ever smaller chunks while the run still fails, and returns a
// sequence from which no single chunk at the finest split can be removed.
func shrink(steps []int, fails func([]int) bool) []int {
	n := 2
	for len(steps) >= 2 {
		chunk := (len(steps) + n - 1) / n
		reduced := false
		for start := 0; start < len(steps); start += chunk {
			rest := append(append([]int(nil), steps[:start]...), steps[min(start+chunk, len(steps)):]...)
			if fails(rest) {
				steps, n, reduced = rest, max(n-1, 2), true
				break
			}
		}
		if !reduced {
			if n >= len(steps) {
				break
			}
			n = min(2*n, len(steps))
		}
	}
	return steps
}

// FormatSteps writes step indexes as ranges: 0-3,7,9-10.
func FormatSteps(steps []int) string {
	var parts []string
	for i := 0; i < len(steps); {
		j := i
		for j+1 < len(steps) && steps[j+1] == steps[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", steps[i], steps[j]))
		} else {
			parts = append(parts, strconv.Itoa(steps[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// ParseSteps reads what FormatSteps writes.
func ParseSteps(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("chaos: bad step %q", part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("chaos: bad step range %q", part)
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out, nil
}
