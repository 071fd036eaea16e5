package dedup_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/dengji/dengji/server/dedup"
	"github.com/dengji/dengji/server/dedup/gen"
)

// An index rebuilt from the records, the weights kept as JSON and the auto
// clusters matches a batch exactly as the full run's own index does, and
// Remove takes a record out of later matches.
func TestRebuild_MatchesLikeTheFullRunsIndex(t *testing.T) {
	recs, _ := gen.Generate(gen.DefaultConfig(6000, 3))
	var base, batch []dedup.Record // the generator writes a duplicate next to its original
	for i, r := range recs {
		if i%6 == 5 {
			batch = append(batch, r)
		} else {
			base = append(base, r)
		}
	}
	opt := dedup.DefaultOptions()
	opt.Workers = 1
	res, ix, err := dedup.Run(base, opt)
	if err != nil {
		t.Fatal(err)
	}
	var clusters [][]string
	for _, c := range res.Clusters {
		if c.Decision == dedup.Auto {
			clusters = append(clusters, c.Records)
		}
	}
	wj, err := json.Marshal(ix.Weights())
	if err != nil {
		t.Fatal(err)
	}
	var w dedup.Weights
	if err := json.Unmarshal(wj, &w); err != nil {
		t.Fatal(err)
	}
	re, err := dedup.Rebuild(slices.Clone(base), &w, clusters, opt)
	if err != nil {
		t.Fatal(err)
	}
	if re.Len() != ix.Len() {
		t.Fatalf("rebuilt index holds %d records, the full run's %d", re.Len(), ix.Len())
	}
	want, err := ix.Match(batch)
	if err != nil {
		t.Fatal(err)
	}
	got, err := re.Match(batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Clusters) == 0 {
		t.Fatal("the batch matched nothing: the test proves nothing")
	}
	if g, w := proposals(got), proposals(want); !slices.Equal(g, w) {
		t.Fatalf("rebuilt index proposes %d cases, the full run's %d:\n%v\n%v", len(g), len(w), g, w)
	}
	if got.Stats.Comparisons != want.Stats.Comparisons {
		t.Errorf("comparisons: rebuilt %d, full run's %d", got.Stats.Comparisons, want.Stats.Comparisons)
	}
	if _, err := dedup.Rebuild(base, nil, nil, opt); err == nil {
		t.Error("Rebuild without weights: no error")
	}

	// Remove: a removed record no longer takes part.
	var victim string
	for _, c := range want.Clusters {
		for _, r := range c.Records {
			if re.Has(r) {
				victim = r
			}
		}
	}
	if victim == "" {
		t.Fatalf("no indexed record in the batch's cases: %v", proposals(want))
	}
	re.Remove([]string{victim})
	if re.Has(victim) || re.Len() != ix.Len()-1 {
		t.Fatalf("after Remove(%s): has %v, len %d", victim, re.Has(victim), re.Len())
	}
	after, err := re.Match(batch)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range after.Clusters {
		if slices.Contains(c.Records, victim) {
			t.Fatalf("removed record %s still proposed: %v", victim, c.Records)
		}
	}
}

func proposals(res *dedup.Result) []string {
	var out []string
	for _, c := range res.Proposals() {
		out = append(out, c.ID+" "+string(c.Decision))
	}
	slices.Sort(out)
	return out
}

// The cheap route of scoring (levels without string metrics first, the
// pair's tags, the bound on what the costly comparisons could add) turns
// away only pairs the full comparison would not link, and links the others
// with the same evidence: the speed-up loses nothing.
func TestScorePair_BoundIsExact(t *testing.T) {
	recs, _ := gen.Generate(gen.DefaultConfig(20000, 5))
	c, err := dedup.CheckBound(recs, dedup.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if c.Mismatch != nil {
		t.Fatal(c.Mismatch)
	}
	t.Logf("%+v", c)
	if c.Tagged == 0 || c.Bounded == 0 || c.Upgraded == 0 || c.Linked == 0 {
		t.Fatalf("the check saw no pair of some kind: %+v", c)
	}
}
