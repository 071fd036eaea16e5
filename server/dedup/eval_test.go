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
