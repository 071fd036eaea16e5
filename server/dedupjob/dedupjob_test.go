package dedupjob_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/dedup"
	"github.com/dengji/dengji/server/dedup/gen"
	"github.com/dengji/dengji/server/dedupjob"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore/bolttest"
	dsync "github.com/dengji/dengji/sync"
)

var ctx = context.Background()

// device pushes registrations like a registrar's phone.
type device struct {
	id string
	n  uint64
}

func (d *device) push(t testing.TB, st store.Store, recs ...dedup.Record) {
	t.Helper()
	res, err := store.Push(ctx, st, store.PushRequest{Device: d.id, Author: "li", Changes: d.changes(recs)})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != dsync.StatusApplied {
			t.Fatalf("push: %+v", r)
		}
	}
}

// changes are the creates of recs, numbered on from the device's counter.
func (d *device) changes(recs []dedup.Record) []dsync.Change {
	chs := make([]dsync.Change, len(recs))
	for i, r := range recs {
		d.n++
		reg := model.Registration{Name: r.Name, Gender: r.Gender, BirthDate: r.BirthDate, IDNumber: r.IDNumber,
			HouseholdAddress: r.HouseholdAddress, ResidenceAddress: r.ResidenceAddress, Phone: r.Phone, Ref: r.Ref}
		chs[i] = dsync.Change{ID: fmt.Sprintf("%s-%06d", d.id, d.n), Device: d.id, Counter: d.n, Record: r.ID,
			Type: model.TypeRegistration, District: r.District, Op: dsync.OpCreate, Set: reg.Fields(),
			Base: map[string]string{}, HLC: dsync.MakeHLC(1700000000000+int64(d.n), 0)}
	}
	return chs
}

func openStore(t testing.TB) store.Store { return bolttest.Open(t) }

// rollStore is a store holding a generated roll of n registrations.
func rollStore(t testing.TB, n int) (store.Store, []dedup.Record, *device) {
	st := openStore(t)
	recs, _ := gen.Generate(gen.DefaultConfig(n, 7))
	d := &device{id: "dev1"}
	d.push(t, st, recs...)
	return st, recs, d
}

func options() dedupjob.Options {
	opt := dedupjob.DefaultOptions()
	opt.Engine.Workers = 1
	opt.Engine.Samples = 20000
	return opt
}

func cases(t *testing.T, st store.Store, q store.DupCaseQuery) []store.DupCase {
	t.Helper()
	var out []store.DupCase
	err := st.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.DupCases(q)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func getCase(t *testing.T, st store.Store, id string) store.DupCase {
	t.Helper()
	var c *store.DupCase
	err := st.View(ctx, func(tx store.Tx) error {
		var err error
		c, err = tx.DupCase(id)
		return err
	})
	if err != nil {
		t.Fatalf("case %s: %v", id, err)
	}
	return *c
}

func registration(t *testing.T, st store.Store, id string) model.Registration {
	t.Helper()
	var reg model.Registration
	err := st.View(ctx, func(tx store.Tx) error {
		rec, err := tx.Record(id)
		if err != nil {
			return err
		}
		reg, err = model.RegistrationFromFields(rec.Values())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// twoOpenCases picks two open two-member cases.
func twoOpenCases(t *testing.T, st store.Store) (store.DupCase, store.DupCase) {
	t.Helper()
	var picked []store.DupCase
	for _, c := range cases(t, st, store.DupCaseQuery{Status: store.DupOpen}) {
		if len(c.Members) == 2 && len(picked) < 2 {
			picked = append(picked, c)
		}
	}
	if len(picked) < 2 {
		t.Fatalf("the generated roll gave fewer than two pair cases")
	}
	return picked[0], picked[1]
}

func TestJob_DecisionsSurviveRuns(t *testing.T) {
	st, recs, dev := rollStore(t, 400)
	job := dedupjob.New(st, options())
	sum, err := job.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Full || sum.Records != 400 || sum.Auto+sum.Review == 0 || sum.New != sum.Cases {
		t.Fatalf("first run: %+v", sum)
	}
	a, b := twoOpenCases(t, st)
	keep := a.Members[1].Record
	if _, err := dedupjob.Decide(ctx, st, dedupjob.Decision{Case: a.ID, Status: store.DupConfirmed, Keep: keep, By: "wang"}); err != nil {
		t.Fatal(err)
	}
	if _, err := dedupjob.Decide(ctx, st, dedupjob.Decision{Case: b.ID, Status: store.DupRejected, By: "wang"}); err != nil {
		t.Fatal(err)
	}
	confirmed, rejected := mustJSON(getCase(t, st, a.ID)), mustJSON(getCase(t, st, b.ID))
	check := func(when string) {
		t.Helper()
		if got := mustJSON(getCase(t, st, a.ID)); got != confirmed {
			t.Errorf("%s: confirmed case changed:\n%s\nwas\n%s", when, got, confirmed)
		}
		if got := mustJSON(getCase(t, st, b.ID)); got != rejected {
			t.Errorf("%s: rejected case changed:\n%s\nwas\n%s", when, got, rejected)
		}
		for _, c := range cases(t, st, store.DupCaseQuery{Status: store.DupOpen}) {
			rs := c.Records()
			if slices.Contains(rs, b.Members[0].Record) && slices.Contains(rs, b.Members[1].Record) {
				t.Errorf("%s: open case %s pairs the rejected records again", when, c.ID)
			}
		}
	}
	sum, err = job.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Confirmed != 1 || sum.Rejected != 1 || sum.New != 0 {
		t.Errorf("second full run: %+v", sum)
	}
	check("full re-run")

	// A late registration of the kept person, in another district.
	late := recs[slices.IndexFunc(recs, func(r dedup.Record) bool { return r.ID == keep })]
	late.ID, late.Ref, late.District = "late-1", "late-1", "999999V001"
	dev.push(t, st, late)
	sum, err = job.RunIncremental(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// An incremental run counts the cases it touched: the confirmed one
	// the late registration joins, not the rejected one elsewhere.
	if sum.Full || sum.Records != 1 || sum.Confirmed != 1 || sum.Rejected != 0 {
		t.Errorf("incremental run: %+v", sum)
	}
	check("incremental run")
	found := false
	for _, c := range cases(t, st, store.DupCaseQuery{Districts: []string{"999999V001"}, Status: store.DupOpen}) {
		found = found || (slices.Contains(c.Records(), "late-1") && slices.Contains(c.Records(), keep))
	}
	if !found {
		t.Errorf("the late duplicate of %s was not proposed", keep)
	}
	if _, err := dedupjob.New(st, options()).RunIncremental(ctx); err != nil {
		t.Fatal(err)
	}
	check("a fresh process's incremental run (its index rebuilt)")
}

func TestJob_IncrementalFindsNewDuplicate(t *testing.T) {
	st, recs, dev := rollStore(t, 300)
	job := dedupjob.New(st, options())
	if _, err := job.Run(ctx); err != nil {
		t.Fatal(err)
	}
	before := len(cases(t, st, store.DupCaseQuery{}))
	src := recs[0]
	dup := src
	dup.ID, dup.Ref, dup.District, dup.Phone = "new-1", "new-1", "110101C999", ""
	dev.push(t, st, dup)
	sum, err := job.RunIncremental(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Full || sum.Records != 1 || sum.New < 1 {
		t.Fatalf("incremental: %+v", sum)
	}
	got := cases(t, st, store.DupCaseQuery{Districts: []string{"110101C999"}})
	if len(got) != 1 || !slices.Contains(got[0].Records(), src.ID) || got[0].Members[0].District == "" {
		t.Fatalf("cases of the new registration: %+v", got)
	}
	if n := len(cases(t, st, store.DupCaseQuery{})); n < before {
		t.Errorf("incremental run lost cases: %d before, %d after", before, n)
	}
	st2, _ := job.Status(ctx)
	// The index grows by what an incremental run matched.
	if st2.Running || st2.Last == nil || st2.Last.Full || st2.Indexed != 301 || st2.Backlog != 0 {
		t.Errorf("status: %+v", st2)
	}
}

func TestJob_Progress(t *testing.T) {
	st, _, _ := rollStore(t, 50)
	var phases []string
	opt := options()
	opt.Progress = func(phase string, done, total int) {
		if len(phases) == 0 || phases[len(phases)-1] != phase {
			phases = append(phases, phase)
		}
	}
	if _, err := dedupjob.Run(ctx, st, opt); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(phases, ","); got != "load,match,save" {
		t.Errorf("phases %s", got)
	}
}

func TestDecide_RemoveMarksOthersRemoved(t *testing.T) {
	st, _, _ := rollStore(t, 300)
	job := dedupjob.New(st, options())
	if _, err := job.Run(ctx); err != nil {
		t.Fatal(err)
	}
	a, b := twoOpenCases(t, st)
	if err := st.Update(ctx, func(tx store.Tx) error {
		return tx.PutDistrict(&model.District{Code: a.Members[0].District, Name: "水塘垸村", Kind: "village"})
	}); err != nil {
		t.Fatal(err)
	}
	d := dedupjob.Decision{Case: a.ID, Status: store.DupConfirmed, Keep: a.Members[0].Record, By: "wang", Remove: true}
	out, err := dedupjob.Decide(ctx, st, d)
	if err != nil {
		t.Fatal(err)
	}
	other := a.Members[1].Record
	if !slices.Equal(out.Removed, []string{other}) || out.Case.Status != store.DupConfirmed || out.Case.DecidedBy != "wang" {
		t.Fatalf("decided: %+v", out)
	}
	reg := registration(t, st, other)
	if reg.Status != "removed" || reg.RemovalReason != "registered_elsewhere" || !strings.Contains(reg.RemovalDetail, "水塘垸村") {
		t.Errorf("removed registration: %+v", reg)
	}
	if kept := registration(t, st, a.Members[0].Record); kept.Status == "removed" {
		t.Errorf("the kept registration was removed")
	}
	// Deciding again the same way is accepted and removes nothing more.
	if out, err := dedupjob.Decide(ctx, st, d); err != nil || len(out.Removed) != 0 {
		t.Errorf("again: %+v %v", out, err)
	}
	for _, tc := range []struct {
		name string
		d    dedupjob.Decision
		want error
	}{
		{"ErrDecided", dedupjob.Decision{Case: a.ID, Status: store.DupRejected}, dedupjob.ErrDecided},
		{"ErrBadDecision", dedupjob.Decision{Case: b.ID, Status: "maybe"}, dedupjob.ErrBadDecision},
		{"ErrNotMember", dedupjob.Decision{Case: b.ID, Status: store.DupConfirmed, Keep: "nobody"}, dedupjob.ErrNotMember},
		{"ErrNotFound", dedupjob.Decision{Case: "dup-none", Status: store.DupRejected}, store.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := dedupjob.Decide(ctx, st, tc.d); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
	// The removed registration leaves the next runs; the confirmed case stays.
	was := mustJSON(getCase(t, st, a.ID))
	if _, err := job.RunIncremental(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := job.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := mustJSON(getCase(t, st, a.ID)); got != was {
		t.Errorf("confirmed case changed after removal and re-runs:\n%s\n%s", got, was)
	}
	for _, c := range cases(t, st, store.DupCaseQuery{Status: store.DupOpen}) {
		if slices.Contains(c.Records(), other) {
			t.Errorf("open case %s names the removed registration", c.ID)
		}
	}
}

func TestWriteCSV(t *testing.T) {
	st, _, _ := rollStore(t, 200)
	if _, err := dedupjob.Run(ctx, st, options()); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := dedupjob.WriteCSV(ctx, st, &buf, store.DupCaseQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "cluster,ref,record_id,district,name,id_number,decision,score") {
		t.Fatalf("header: %q", strings.SplitN(buf.String(), "\n", 2)[0])
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	members := 0
	for _, c := range cases(t, st, store.DupCaseQuery{}) {
		members += len(c.Members)
	}
	if n == 0 || n != members || len(rows) != n+1 {
		t.Fatalf("%d rows written, %d read, %d members", n, len(rows)-1, members)
	}
	for _, r := range rows[1:] {
		if !strings.HasPrefix(r[0], "dup-") || r[1] == "" || r[2] == "" || r[4] == "" ||
			(r[6] != "auto" && r[6] != "review") || r[8] != "open" {
			t.Errorf("row %q", r)
		}
	}
}

func TestJob_StartRefusesSecondRun(t *testing.T) {
	st, _, _ := rollStore(t, 100)
	job := dedupjob.New(st, options())
	if err := job.Start(ctx, false); err != nil {
		t.Fatal(err)
	}
	if err := job.Start(ctx, true); err != dedupjob.ErrRunning {
		// The first run may have finished already on a fast machine.
		if s, _ := job.Status(ctx); s.Running {
			t.Errorf("second start: %v", err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := job.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !s.Running && s.Last != nil {
			if !s.Last.Full || s.Error != "" {
				t.Errorf("status after the run: %+v", s)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the background run did not finish")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
