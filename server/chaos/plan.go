package chaos

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// OpKind is what one step of a run does.
type OpKind uint8

// Steps of a run.
const (
	OpCreate  OpKind = iota // a registrar registers a voter offline (a quarter: someone registered before elsewhere)
	OpUpdate                // edits fields of a record the device holds
	OpDelete                // deletes one
	OpMigrant               // records a contact with a migrant voter of a registration
	OpSync                  // the device syncs, through its fault schedule
	OpResolve               // a coordinator decides open conflicts (restores among them)
	OpBackup                // the device file is copied aside
	OpRestore               // the device file is replaced by its older copy
	OpKill                  // the server is killed (SIGKILL) between requests and restarted
	OpDedup                 // the duplicate check runs and a coordinator decides a case
	numOps
)

var opNames = [numOps]string{"create", "update", "delete", "migrant", "sync", "resolve", "backup", "restore", "kill", "dedup"}

func (k OpKind) String() string { return opNames[k] }

// Crash is where a device's process dies around an edit.
type Crash uint8

// Crashes.
const (
	CrashNone   Crash = iota
	CrashBefore       // after the registrar typed, before the edit's transaction: the edit is not made
	CrashAfter        // right after the edit's transaction committed: it must survive
)

// Op is one step, with every choice it makes drawn in advance so a subset
// of a run's steps replays the same way.
type Op struct {
	Kind   OpKind
	Dev    int
	R      uint64  // the step's own random choices (district, record, values)
	Crash  Crash   // edits
	Faults []Fault // syncs: the faults of its requests, in order
}

func (o Op) String() string {
	s := fmt.Sprintf("%s dev%d", o.Kind, o.Dev)
	switch {
	case o.Crash == CrashBefore:
		s += " crash-before-write"
	case o.Crash == CrashAfter:
		s += " crash-after-write"
	case len(o.Faults) > 0:
		names := make([]string, len(o.Faults))
		for i, f := range o.Faults {
			names[i] = f.String()
		}
		s += " faults[" + strings.Join(names, ",") + "]"
	}
	return s
}

// districts of every run: two villages of one town and one of another, so
// scopes overlap in some districts and not in others.
var districts = []string{"430102001001", "430102001002", "430102002001"}

// DeviceSpec is one registrar's phone.
type DeviceSpec struct {
	Scope []string      // districts the registrar covers
	Skew  time.Duration // how far the phone's clock is off
	// NoElectionDay: the phone does not know the election day, so it does
	// not check ages and the server refuses what it let through.
	NoElectionDay bool
}

// Plan is everything a run does, drawn from its seed.
type Plan struct {
	Seed    uint64
	Devices []DeviceSpec
	Ops     []Op
}

// Size bounds a run.
type Size struct {
	MaxDevices int // 2 to MaxDevices registrars
	MinOps     int
	MaxOps     int
}

// DefaultSize is sized so that a thousand runs take minutes on two cores.
var DefaultSize = Size{MaxDevices: 4, MinOps: 40, MaxOps: 70}

// NewPlan draws a run from seed.
func NewPlan(seed uint64, size Size) *Plan {
	rng := rand.New(rand.NewPCG(seed, 0x636861_6f73))
	p := &Plan{Seed: seed}
	for range 2 + rng.IntN(max(1, size.MaxDevices-1)) {
		p.Devices = append(p.Devices, drawDevice(rng))
	}
	n := size.MinOps + rng.IntN(max(1, size.MaxOps-size.MinOps+1))
	for range n {
		p.Ops = append(p.Ops, drawOp(rng, len(p.Devices)))
	}
	return p
}

func drawDevice(rng *rand.Rand) DeviceSpec {
	var d DeviceSpec
	for _, code := range districts {
		if rng.IntN(2) == 0 {
			d.Scope = append(d.Scope, code)
		}
	}
	if len(d.Scope) == 0 {
		d.Scope = []string{districts[rng.IntN(len(districts))]}
	}
	d.NoElectionDay = rng.IntN(4) == 0
	if rng.IntN(3) == 0 { // a third of the phones keep the wrong time, by up to 30 hours either way
		d.Skew = time.Duration(rng.IntN(61)-30) * time.Hour
	}
	return d
}

// opWeights is how often each step is drawn, out of their sum.
var opWeights = [numOps]int{OpCreate: 20, OpUpdate: 26, OpDelete: 6, OpMigrant: 5, OpSync: 26,
	OpResolve: 6, OpBackup: 3, OpRestore: 2, OpKill: 2, OpDedup: 2}

func drawOp(rng *rand.Rand, devices int) Op {
	op := Op{Dev: rng.IntN(devices), R: rng.Uint64()}
	total := 0
	for _, w := range opWeights {
		total += w
	}
	x := rng.IntN(total)
	for k, w := range opWeights {
		if x < w {
			op.Kind = OpKind(k)
			break
		}
		x -= w
	}
	switch op.Kind {
	case OpCreate, OpUpdate, OpDelete, OpMigrant:
		if c := rng.IntN(20); c < 2 {
			op.Crash = Crash(1 + c)
		}
	case OpSync:
		if rng.IntN(2) == 0 {
			for range 1 + rng.IntN(6) {
				op.Faults = append(op.Faults, Fault(rng.IntN(int(numFaults))))
			}
		}
	}
	return op
}

// Subset is the plan with only the steps whose indexes are listed.
func (p *Plan) Subset(keep []int) *Plan {
	q := &Plan{Seed: p.Seed, Devices: p.Devices}
	for _, i := range keep {
		if i >= 0 && i < len(p.Ops) {
			q.Ops = append(q.Ops, p.Ops[i])
		}
	}
	return q
}

// WithFaults is the plan with the fault lists of some steps replaced.
func (p *Plan) WithFaults(faults map[int][]Fault) *Plan {
	if len(faults) == 0 {
		return p
	}
	q := *p
	q.Ops = slices.Clone(p.Ops)
	for i, f := range faults {
		if i >= 0 && i < len(q.Ops) {
			q.Ops[i].Faults = f
		}
	}
	return &q
}
