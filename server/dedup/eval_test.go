package dedup_test

import (
	"os"
	"testing"

	"github.com/dengji/dengji/server/dedup"
	"github.com/dengji/dengji/server/dedup/gen"
)

func TestEvaluate(t *testing.T) {
	recs, truth := gen.Generate(gen.DefaultConfig(20000, 42))
	opt := dedup.DefaultOptions()
	res, _, err := dedup.Run(recs, opt)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := dedup.Evaluate(recs, truth, res, opt)
	if err != nil {
		t.Fatal(err)
	}
	rep.Dataset = "generated"
	rep.Print(os.Stdout)
	e := rep.Engine
	if e.Precision < 0.995 || e.Recall < 0.98 || e.AutoPrecision < 0.999 || e.ReviewShare > 0.01 {
		t.Errorf("targets missed: precision %.4f (>=0.995) recall %.4f (>=0.98) auto precision %.4f (>=0.999) review %.2f%% (<=1%%)",
			e.Precision, e.Recall, e.AutoPrecision, 100*e.ReviewShare)
	}
}

func TestReconcile_SurvivesFullAndIncrementalRuns(t *testing.T) {
	recs, _ := gen.Generate(gen.DefaultConfig(6000, 9))
	base, batch := recs[:5000], recs[5000:]
	opt := dedup.DefaultOptions()
	res, ix, err := dedup.Run(base, opt)
	if err != nil {
		t.Fatal(err)
	}
	cases := dedup.Reconcile(nil, res.Proposals(), true)
	if len(cases) < 2 {
		t.Fatalf("only %d cases", len(cases))
	}
	cases[0].Status, cases[0].Keep = dedup.StatusConfirmed, cases[0].Records[len(cases[0].Records)-1]
	cases[1].Status = dedup.StatusRejected
	want := []dedup.Case{cases[0], cases[1]}
	check := func(stage string, got []dedup.Case) {
		for _, w := range want {
			found := false
			for _, g := range got {
				if g.ID == w.ID {
					found = true
					if g.Status != w.Status || g.Keep != w.Keep || len(g.Records) != len(w.Records) {
						t.Errorf("%s: case %s changed: %+v", stage, w.ID, g)
					}
				}
			}
			if !found {
				t.Errorf("%s: case %s lost", stage, w.ID)
			}
		}
		for _, g := range got {
			if g.Status == dedup.StatusOpen && containsAll(g.Records, want[1].Records) {
				t.Errorf("%s: rejected records proposed together again in %s", stage, g.ID)
			}
		}
	}
	res2, _, _ := dedup.Run(base, opt)
	full := dedup.Reconcile(cases, res2.Proposals(), true)
	check("full", full)
	inc, err := ix.Match(batch)
	if err != nil {
		t.Fatal(err)
	}
	check("incremental", dedup.Reconcile(full, inc.Proposals(), false))
}

func containsAll(big, small []string) bool {
	for _, s := range small {
		ok := false
		for _, b := range big {
			ok = ok || b == s
		}
		if !ok {
			return false
		}
	}
	return true
}
