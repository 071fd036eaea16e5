package e2e

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	sdk "github.com/dengji/dengji/client-sdk"
	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// The randomized convergence test runs at a modest size by default (CI);
// for a larger run:
//
//	go test ./server/e2e -run Convergence -convergence.devices=20 -convergence.rounds=30 -convergence.ops=40
var (
	convDevices = flag.Int("convergence.devices", 6, "devices in the randomized convergence test")
	convRounds  = flag.Int("convergence.rounds", 8, "offline rounds")
	convOps     = flag.Int("convergence.ops", 12, "edits per device per round")
	convSeed    = flag.Uint64("convergence.seed", 0, "seed (0: from the clock)")
)

var districts = []string{"430102001001", "430102001002", "430102002001"}

func TestE2E_RandomizedConvergence(t *testing.T) {
	convergence(t, startServer(t))
}

// convergence runs the randomized convergence test against s: devices
// edit offline and sync at random, then all must hold the server's state.
func convergence(t *testing.T, s *server) {
	seed := *convSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d: rerun with go test ./server/e2e -run Convergence -convergence.seed=%d", seed, seed)
		}
	})
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	devs, scopes := convergenceDevices(t, s, rng)
	known := recordIDs{}

	made, acked := 0, 0
	sync := func(d *sdk.Device) {
		rep := mustSync(t, d)
		if rep.Rejections != 0 {
			rej, _ := d.Rejected()
			t.Fatalf("device %s: %d changes rejected: %+v", d.ID(), rep.Rejections, rej)
		}
		for _, n := range rep.Pushed {
			acked += n
		}
	}
	for round := 0; round < *convRounds; round++ {
		for _, d := range devs {
			for i := 0; i < *convOps; i++ {
				if randomEdit(t, rng, d, scopes[d], known) {
					made++
				}
			}
		}
		for _, i := range rng.Perm(len(devs)) {
			if rng.IntN(10) < 6 {
				sync(devs[i])
			}
		}
	}
	for pass := 0; pass < 2; pass++ { // push everything, then pull everything
		for _, i := range rng.Perm(len(devs)) {
			sync(devs[i])
		}
	}
	if made != acked {
		t.Fatalf("%d changes made on devices, %d acknowledged by the server", made, acked)
	}
	checkConverged(t, s, devs, scopes)
}

func convergenceDevices(t *testing.T, s *server, rng *rand.Rand) ([]*sdk.Device, map[*sdk.Device][]string) {
	devs := make([]*sdk.Device, *convDevices)
	scopes := map[*sdk.Device][]string{}
	for i := range devs {
		var scope []string
		for _, d := range districts {
			if rng.IntN(2) == 0 {
				scope = append(scope, d)
			}
		}
		if len(scope) == 0 {
			scope = []string{districts[i%len(districts)]}
		}
		name := fmt.Sprintf("reg%02d", i)
		s.addUser(t, name, store.RoleRegistrar, scope...)
		// Small batches and pages so paging is exercised; a mix of sizes so
		// the larger runs are not all spent on five-record pull pages.
		page := []int{5, 40, 300}[rng.IntN(3)]
		devs[i] = s.device(t, name, s.deviceURL(), sdk.Options{BatchSize: 7, PageSize: page})
		scopes[devs[i]] = scope
	}
	return devs, scopes
}

var convNames = []string{"王雄", "梁峻青", "李碧辉", "杨倩", "黄金", "张伟", "李娜", "刘洋"}

// recordIDs is every record ID the test has created, by district, so an
// edit picks a record without listing a device's store: listing per edit
// made the test's cost grow with the square of its size.
type recordIDs map[string][]string

// pick returns a record of one of the districts that the device holds live,
// or "" if a few draws found none (not pulled yet, or deleted).
func (k recordIDs) pick(rng *rand.Rand, d *sdk.Device, scope []string) string {
	for range 4 {
		ids := k[scope[rng.IntN(len(scope))]]
		if len(ids) == 0 {
			continue
		}
		id := ids[rng.IntN(len(ids))]
		if r, err := d.Get(id); err == nil && !r.Deleted() {
			return id
		}
	}
	return ""
}

// randomEdit makes one offline create, update or delete and reports whether
// a change entered the outbox.
func randomEdit(t *testing.T, rng *rand.Rand, d *sdk.Device, scope []string, known recordIDs) bool {
	t.Helper()
	p := rng.IntN(100)
	id := ""
	if p >= 35 {
		id = known.pick(rng, d, scope)
	}
	switch {
	case id == "":
		district := scope[rng.IntN(len(scope))]
		id, err := d.Create(model.TypeRegistration, district, registration(rng.Uint64()))
		must(t, err)
		known[district] = append(known[district], id)
	case p < 88:
		must(t, d.Update(id, randomFields(rng)))
	default:
		must(t, d.Delete(id))
	}
	return true
}

func randomFields(rng *rand.Rand) map[string]json.RawMessage {
	all := map[string]json.RawMessage{
		"name":              str(convNames[rng.IntN(len(convNames))]),
		"phone":             str(fmt.Sprintf("139%08d", rng.IntN(100_000_000))),
		"voter_group":       str(fmt.Sprintf("第%d选民小组", 1+rng.IntN(4))),
		"residence_address": str(fmt.Sprintf("水塘垸%d号", 1+rng.IntN(50))),
	}
	out := map[string]json.RawMessage{}
	for k, v := range all {
		if len(out) == 0 || rng.IntN(3) == 0 {
			out[k] = v
		}
	}
	return out
}

// checkConverged asserts every device holds exactly the server's state of
// every record in its districts, and nothing else.
func checkConverged(t *testing.T, s *server, devs []*sdk.Device, scopes map[*sdk.Device][]string) {
	t.Helper()
	server := map[string]*dsync.Record{}
	s.st.View(ctx, func(tx store.Tx) error {
		return tx.ForEachRecord("", func(r *dsync.Record) error { server[r.ID] = r; return nil })
	})
	for _, d := range devs {
		if n, _ := d.Pending(); n != 0 {
			t.Fatalf("device %s has %d pending changes after the final syncs", d.ID(), n)
		}
		got := deviceStates(t, d)
		for id, st := range got {
			rec, ok := server[id]
			if !ok || !contains(scopes[d], rec.District) {
				t.Fatalf("device %s holds %s, which the server does not give it", d.ID(), id)
			}
			if want := stateOf(rec); !st.equal(want) {
				t.Fatalf("device %s record %s diverged:\n device %+v\n server %+v", d.ID(), id, st, want)
			}
		}
		for id, rec := range server {
			if _, ok := got[id]; !ok && !rec.Deleted() && contains(scopes[d], rec.District) {
				t.Fatalf("device %s is missing record %s", d.ID(), id)
			}
		}
	}
	for _, c := range s.conflicts(t) {
		if c.Kept.Change == "" || c.Other.Change == "" || c.Kept.Device == "" || c.Other.Device == "" {
			t.Fatalf("conflict without both sides: %+v", c)
		}
	}
	t.Logf("%d records, %d conflicts, %d devices converged", len(server), len(s.conflicts(t)), len(devs))
}
