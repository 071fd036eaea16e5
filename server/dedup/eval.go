package dedup

import (
	"fmt"
	"io"
	"time"
)

// Metrics are pairwise figures for one method.
type Metrics struct {
	Method        string
	Pairs         int // predicted pairs (auto + review)
	TruePositives int
	Precision     float64
	Recall        float64
	F1            float64
	AutoPairs     int
	AutoPrecision float64
	ReviewRecords int     // records in review cases
	ReviewShare   float64 // ReviewRecords / records
}

// Report compares the engine and two naive baselines against the truth.
type Report struct {
	Dataset   string
	Records   int
	TruePairs int
	Engine    Metrics
	ExactID   Metrics // link records with the same normalized ID
	NameBirth Metrics // link records with the same normalized name and birth date
	Stats     Stats
	Elapsed   time.Duration
}

// Evaluate scores res against truth (the entity of each record) and runs
// the two baselines on the same records.
func Evaluate(recs []Record, truth []string, res *Result, opt Options) (Report, error) {
	if len(recs) != len(truth) {
		return Report{}, ErrTruthLength
	}
	ent := make(map[string]string, len(recs))
	sizes := map[string]int{}
	for i, r := range recs {
		ent[r.ID] = truth[i]
		sizes[truth[i]]++
	}
	rep := Report{Records: len(recs), Stats: res.Stats, Elapsed: res.Stats.Elapsed}
	for _, k := range sizes {
		rep.TruePairs += k * (k - 1) / 2
	}
	rep.Engine = measure("engine", res.Clusters, ent, rep.TruePairs, len(recs))
	rep.ExactID = measure("exact ID", baseline(recs, func(p *prep) string { return p.id }, opt), ent, rep.TruePairs, len(recs))
	rep.NameBirth = measure("name+birth", baseline(recs, func(p *prep) string {
		if p.name == "" || p.birth == 0 {
			return ""
		}
		return fmt.Sprint(p.name, "|", p.birth)
	}, opt), ent, rep.TruePairs, len(recs))
	return rep, nil
}

// baseline clusters records with the same non-blank key as auto clusters.
func baseline(recs []Record, key func(*prep) string, opt Options) []Cluster {
	ps := prepareAll(recs, opt)
	groups := map[string][]string{}
	for i := range ps {
		if k := key(&ps[i]); k != "" {
			groups[k] = append(groups[k], recs[i].ID)
		}
	}
	var out []Cluster
	for _, g := range groups {
		if len(g) > 1 {
			out = append(out, Cluster{Records: g, Decision: Auto})
		}
	}
	return out
}

func measure(name string, cls []Cluster, ent map[string]string, truePairs, n int) Metrics {
	m := Metrics{Method: name}
	seen := map[[2]string]bool{}
	autoTP := 0
	review := map[string]bool{}
	for _, c := range cls {
		for i := range c.Records {
			for j := i + 1; j < len(c.Records); j++ {
				a, b := c.Records[i], c.Records[j]
				if a > b {
					a, b = b, a
				}
				if seen[[2]string{a, b}] {
					continue
				}
				seen[[2]string{a, b}] = true
				m.Pairs++
				tp := ent[a] == ent[b]
				if tp {
					m.TruePositives++
				}
				if c.Decision == Auto {
					m.AutoPairs++
					if tp {
						autoTP++
					}
				}
			}
		}
		if c.Decision == Review {
			for _, r := range c.Records {
				review[r] = true
			}
		}
	}
	m.Precision = ratio(m.TruePositives, m.Pairs)
	m.Recall = ratio(m.TruePositives, truePairs)
	if m.Precision+m.Recall > 0 {
		m.F1 = 2 * m.Precision * m.Recall / (m.Precision + m.Recall)
	}
	m.AutoPrecision = ratio(autoTP, m.AutoPairs)
	m.ReviewRecords = len(review)
	m.ReviewShare = ratio(len(review), n)
	return m
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Print writes the report as a table.
func (r Report) Print(w io.Writer) {
	fmt.Fprintf(w, "%s: %d records, %d true pairs, %d comparisons, %d split blocks, %d oversized blocks, %s\n",
		r.Dataset, r.Records, r.TruePairs, r.Stats.Comparisons, r.Stats.SplitBlocks, r.Stats.OversizedBlocks,
		r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "  %-11s %8s %9s %7s %7s %7s %9s %8s %7s\n", "method", "pairs", "precision", "recall", "F1", "auto", "auto-prec", "review", "share")
	for _, m := range []Metrics{r.Engine, r.ExactID, r.NameBirth} {
		fmt.Fprintf(w, "  %-11s %8d %9.4f %7.4f %7.4f %7d %9.4f %8d %6.2f%%\n", m.Method, m.Pairs, m.Precision, m.Recall,
			m.F1, m.AutoPairs, m.AutoPrecision, m.ReviewRecords, 100*m.ReviewShare)
	}
}
