package chaos

import (
	"context"
	"flag"
	"os"
	"testing"
	"time"

	"github.com/dengji/dengji/server/store/pgstore/pgtest"
)

var (
	flagRuns   = flag.Int("chaos.runs", 12, "runs of the chaos slice")
	flagSeed   = flag.Uint64("chaos.seed", 0, "first seed (0: one that changes every day)")
	flagOnly   = flag.String("chaos.only", "", "replay only these steps of each run (e.g. 3-5,9)")
	flagFaults = flag.String("chaos.faults", "", "replay with these steps' faults (e.g. 13=kill_server+delay,20=none)")
)

func TestMain(m *testing.M) {
	ServeIfChild(OpenAny) // this binary, started again as a run's server
	os.Exit(m.Run())
}

// processBackend runs the server as a child process of this test binary.
func processBackend(dir string) Backend {
	return &Process{Location: dir, Command: SelfCommand("-test.run=^$")}
}

// dailySeed changes every day, so each day's test runs cover new schedules.
func dailySeed() uint64 { return uint64(time.Now().UTC().Unix()/86400) * 1000 }

// A slice of the thousand seeded runs: a real server process killed and
// restarted, real device files, every fault kind. The seed is printed.
func TestChaos_Slice(t *testing.T) {
	runs, asked := *flagRuns, false
	flag.Visit(func(f *flag.Flag) { asked = asked || f.Name == "chaos.runs" })
	if raceEnabled && !asked {
		runs = 4
	}
	seed := *flagSeed
	if seed == 0 {
		seed = dailySeed()
	}
	var only []int
	if *flagOnly != "" {
		var err error
		if only, err = ParseSteps(*flagOnly); err != nil {
			t.Fatal(err)
		}
	}
	faults, err := ParseFaults(*flagFaults)
	if *flagFaults == "" {
		faults, err = nil, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("chaos seed %d, %d runs: go test ./server/chaos -run Slice -chaos.seed=%d -chaos.runs=%d", seed, runs, seed, runs)
	st, err := Run(context.Background(), Config{Runs: runs, Seed: seed, Backend: processBackend, Dir: t.TempDir(), Only: only, Faults: faults, Parallel: 2,
		Replay: "go run ./server/cmd/dengji chaos"})
	t.Log(st)
	if err != nil {
		t.Fatal(err)
	}
	if st.Edits == 0 || st.Syncs == 0 {
		t.Fatalf("the runs did nothing: %s", st)
	}
}

// The same runs on PostgreSQL, each on a schema of its own served by two
// server processes at once, devices spread over them.
func TestChaos_PostgreSQL(t *testing.T) {
	base := os.Getenv(pgtest.EnvURL)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: .ci/run sets it", pgtest.EnvURL)
		}
		t.Skipf("%s is not set", pgtest.EnvURL)
	}
	seed := dailySeed() + 500
	t.Logf("chaos seed %d on PostgreSQL, two servers", seed)
	st, err := Run(context.Background(), Config{Runs: 3, Seed: seed, Dir: t.TempDir(),
		Backend: PostgreSQL(base, 2, SelfCommand("-test.run=^$")), Replay: "go run ./server/cmd/dengji chaos --store " + base})
	t.Log(st)
	if err != nil {
		t.Fatal(err)
	}
}
