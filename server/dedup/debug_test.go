package dedup_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/dengji/dengji/server/dedup"
	"github.com/dengji/dengji/server/dedup/gen"
)

func TestDebugErrors(t *testing.T) {
	if os.Getenv("DEDUP_DEBUG") == "" {
		t.Skip("set DEDUP_DEBUG=1")
	}
	recs, truth := gen.Generate(gen.DefaultConfig(20000, 42))
	opt := dedup.DefaultOptions()
	res, ix, _ := dedup.Run(recs, opt)
	byID := map[string]int{}
	for i, r := range recs {
		byID[r.ID] = i
	}
	show := func(tag string, a, b int) {
		l := ix.Explain(recs[a], recs[b])
		fmt.Printf("%s %q|%s|%s|%s|%s  vs  %q|%s|%s|%s|%s  post=%.1f coinc=%.3f\n", tag, recs[a].Name, recs[a].BirthDate, recs[a].IDNumber, recs[a].Phone, recs[a].HouseholdAddress,
			recs[b].Name, recs[b].BirthDate, recs[b].IDNumber, recs[b].Phone, recs[b].HouseholdAddress, l.Evidence.Posterior, l.Evidence.Coincidences)
		for _, f := range l.Evidence.Fields {
			fmt.Printf("    %s=%s(%.1f)", f.Field, f.Level, f.Weight)
		}
		fmt.Println()
	}
	pred := map[[2]int]bool{}
	for _, c := range res.Clusters {
		for i := range c.Records {
			for j := i + 1; j < len(c.Records); j++ {
				a, b := byID[c.Records[i]], byID[c.Records[j]]
				pred[[2]int{min(a, b), max(a, b)}] = true
				if truth[a] != truth[b] {
					show("FP-"+string(c.Decision), a, b)
				}
			}
		}
	}
	ent := map[string][]int{}
	for i, e := range truth {
		ent[e] = append(ent[e], i)
	}
	for _, m := range ent {
		for i := range m {
			for j := i + 1; j < len(m); j++ {
				if !pred[[2]int{m[i], m[j]}] {
					show("FN", m[i], m[j])
				}
			}
		}
	}
	w := res.Stats.Weights
	fmt.Printf("weights: pos=%d anchors=%d neg=%d\nM=%v\nU=%v\n", w.Positives, w.Anchors, w.Negatives, w.M, w.U)
}
