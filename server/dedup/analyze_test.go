package dedup_test

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/dengji/dengji/server/dedup"
	"github.com/dengji/dengji/server/dedup/gen"
)

// TestAnalyze (DEDUP_ANALYZE=n, DEDUP_SEED=s) lists the false links by
// evidence pattern.
func TestAnalyze(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("DEDUP_ANALYZE"))
	if n == 0 {
		t.Skip("DEDUP_ANALYZE unset")
	}
	seed, _ := strconv.ParseUint(os.Getenv("DEDUP_SEED"), 10, 64)
	recs, truth := gen.Generate(gen.DefaultConfig(n, max(seed, 1)))
	opt := dedup.DefaultOptions()
	if os.Getenv("SWEEP") != "" {
		sweep(t, recs, truth, opt)
	}
	res, ix, err := dedup.Run(recs, opt)
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := dedup.Evaluate(recs, truth, res, opt)
	if os.Getenv("FN") != "" {
		missed(recs, truth, res, ix)
	}
	rep.Print(os.Stdout)
	fmt.Printf("estimated duplicates per record %.4f (valid-ID pairs)\n", ix.Weights().DupRate)
	ent := map[string]string{}
	byID := map[string]dedup.Record{}
	for i, r := range recs {
		ent[r.ID] = truth[i]
		byID[r.ID] = r
	}
	pat := map[string]int{}
	good := map[string]int{}
	shown := 0
	for _, c := range res.Clusters {
		for _, l := range c.Links {
			var b strings.Builder
			fmt.Fprintf(&b, "%s ", l.Decision)
			for _, f := range l.Evidence.Fields {
				fmt.Fprintf(&b, "%s=%s ", f.Field[:2], f.Level)
			}
			k := b.String()
			if ent[l.A] != ent[l.B] {
				pat[k]++
				if shown < 40 && (l.Decision == dedup.Auto || os.Getenv("SHOWREV") != "") {
					shown++
					fmt.Printf("FP %s post=%.1f tot=%.1f co=%.3f\n  %+v\n  %+v\n", k, l.Evidence.Posterior, l.Evidence.Total, l.Evidence.Coincidences, byID[l.A], byID[l.B])
				}
			} else {
				good[k]++
			}
		}
	}
	for i, x := range byCount(pat) {
		if i > 30 {
			break
		}
		fmt.Printf("%6d FP (%6d TP) %s\n", x.k, good[x.p], x.p)
	}
}

// sweep approximates pairwise figures per threshold from the links of one
// run with a low review threshold (clusters' transitive pairs ignored).
func sweep(t *testing.T, recs []dedup.Record, truth []string, opt dedup.Options) {
	o := opt
	o.ReviewBits = -12
	res, _, err := dedup.Run(recs, o)
	if err != nil {
		t.Fatal(err)
	}
	ent := map[string]string{}
	sizes := map[string]int{}
	for i, r := range recs {
		ent[r.ID] = truth[i]
		sizes[truth[i]]++
	}
	truePairs := 0
	for _, k := range sizes {
		truePairs += k * (k - 1) / 2
	}
	type pl struct {
		post float64
		tp   bool
	}
	var ls []pl
	for _, c := range res.Clusters {
		for _, l := range c.Links {
			ls = append(ls, pl{l.Evidence.Posterior, ent[l.A] == ent[l.B]})
		}
	}
	for _, a := range []float64{4, 6, 8, 10, 12} {
		for _, r := range []float64{-6, -4, -2, 0, 1, 2, 3, 4} {
			if r > a {
				continue
			}
			var pairs, tp, auto, atp int
			for _, x := range ls {
				if x.post >= r {
					pairs++
					if x.tp {
						tp++
					}
				}
				if x.post >= a {
					auto++
					if x.tp {
						atp++
					}
				}
			}
			fmt.Printf("sweep auto %4.1f review %4.1f: precision %.4f recall %.4f auto-prec %.5f autoFP %d FP %d\n", a, r,
				float64(tp)/float64(pairs), float64(tp)/float64(truePairs), float64(atp)/float64(auto), auto-atp, pairs-tp)
		}
	}
}

// TestAnalyzeIncremental (DEDUP_ANALYZE_INC=1) lists the true pairs touching
// a 10k batch that Match misses, with the index's explanation.
func TestAnalyzeIncremental(t *testing.T) {
	if os.Getenv("DEDUP_ANALYZE_INC") == "" {
		t.Skip("DEDUP_ANALYZE_INC unset")
	}
	const n = 1000000
	recs, truth := gen.Generate(gen.DefaultConfig(n+10000, 1))
	opt := dedup.DefaultOptions()
	_, ix, err := dedup.Run(recs[:n], opt)
	if err != nil {
		t.Fatal(err)
	}
	res, err := ix.Match(recs[n:])
	if err != nil {
		t.Fatal(err)
	}
	got := linkedPairs(res)
	byEnt := map[string][]int{}
	for i := n - 2000; i < len(recs); i++ {
		byEnt[truth[i]] = append(byEnt[truth[i]], i)
	}
	miss := 0
	for _, ms := range byEnt {
		for x := range ms {
			for y := x + 1; y < len(ms); y++ {
				a, b := recs[ms[x]], recs[ms[y]]
				if ms[y] < n || got[[2]string{a.ID, b.ID}] {
					continue
				}
				miss++
				l := ix.Explain(a, b)
				var s strings.Builder
				for _, f := range l.Evidence.Fields {
					fmt.Fprintf(&s, "%s=%s(%.1f) ", f.Field[:2], f.Level, f.Weight)
				}
				fmt.Printf("MISS %q post=%.1f %s\n  %+v\n  %+v\n", l.Decision, l.Evidence.Posterior, s.String(), a, b)
			}
		}
	}
	fmt.Println("missed", miss)
}

// linkedPairs is every ordered pair of records the run put in one cluster.
func linkedPairs(res *dedup.Result) map[[2]string]bool {
	got := map[[2]string]bool{}
	for _, c := range res.Clusters {
		for i := range c.Records {
			for j := range c.Records {
				got[[2]string{c.Records[i], c.Records[j]}] = true
			}
		}
	}
	return got
}

// missed buckets the true pairs the run did not propose by evidence pattern.
func missed(recs []dedup.Record, truth []string, res *dedup.Result, ix *dedup.Index) {
	got := linkedPairs(res)
	byEnt := map[string][]int{}
	for i := range recs {
		byEnt[truth[i]] = append(byEnt[truth[i]], i)
	}
	pat := map[string]int{}
	for _, ms := range byEnt {
		for x := range ms {
			for y := x + 1; y < len(ms); y++ {
				a, b := recs[ms[x]], recs[ms[y]]
				if got[[2]string{a.ID, b.ID}] {
					continue
				}
				l := ix.Explain(a, b)
				var s strings.Builder
				fmt.Fprintf(&s, "%q ", l.Decision)
				for _, f := range l.Evidence.Fields {
					fmt.Fprintf(&s, "%s=%s ", f.Field[:2], f.Level)
				}
				pat[s.String()]++
			}
		}
	}
	for i, x := range byCount(pat) {
		if i < 25 {
			fmt.Printf("%6d FN %s\n", x.k, x.p)
		}
	}
}

type patternCount struct {
	p string
	k int
}

// byCount orders evidence patterns by how often they occur, most first.
func byCount(pat map[string]int) []patternCount {
	out := make([]patternCount, 0, len(pat))
	for p, k := range pat {
		out = append(out, patternCount{p, k})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].k > out[j].k })
	return out
}
