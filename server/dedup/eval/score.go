package eval

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Targets the duplicate check is tuned for.
const (
	TargetPrecision     = 0.995
	TargetRecall        = 0.98
	TargetAutoPrecision = 0.999
	TargetReviewShare   = 0.01
	TargetImportRate    = 0.99
)

// ErrFormat is returned for a truth or duplicates file that cannot be read.
var ErrFormat = errors.New("eval: bad file")

// ScoreOptions say what the files alone do not.
type ScoreOptions struct {
	// Rows is the number of rows of the roll; 0: the truth file's rows.
	Rows int
	// Imported is the number of rows the import took in; negative: unknown.
	Imported int
	// Refused are the refs of the rows the import refused, for the
	// breakdown of missed pairs (optional).
	Refused map[string]bool
}

// Tally counts true pairs with one trait and how many of them were found.
type Tally struct {
	Pairs int `json:"pairs"`
	Found int `json:"found"`
}

// Scores are an exported duplicates file's figures against the truth:
// pairs are all the pairs of records within a case; every true pair of the
// roll counts, so a row refused at import loses its pairs.
type Scores struct {
	Rows          int     `json:"rows"`
	Imported      int     `json:"imported"` // -1: unknown
	TruePairs     int     `json:"true_pairs"`
	Pairs         int     `json:"pairs"`          // distinct pairs in cases, auto and review
	TruePositives int     `json:"true_positives"` // of Pairs
	AutoPairs     int     `json:"auto_pairs"`
	AutoTrue      int     `json:"auto_true_positives"`
	ReviewRecords int     `json:"review_records"` // distinct records in review cases
	Precision     float64 `json:"precision"`
	Recall        float64 `json:"recall"`
	AutoPrecision float64 `json:"auto_precision"`
	ReviewShare   float64 `json:"review_share"`
	ImportRate    float64 `json:"import_rate"`            // -1: unknown
	UnknownRefs   int     `json:"unknown_refs,omitempty"` // export rows whose ref the truth lacks
	// ByTrait breaks the true pairs down by the role and noise of their
	// records (when the truth file has the generator's labels) and
	// "refused" (a record refused at import, when known).
	ByTrait map[string]Tally `json:"by_trait,omitempty"`
	// FalseLinks counts the false pairs by decision and by how their two
	// persons are related (twin, relative, namesake, unrelated).
	FalseLinks map[string]int `json:"false_links,omitempty"`
}

// truthRow is one row of a truth file.
type truthRow struct {
	ref, person, role, relation, related string
	noise                                []string
}

// Score scores an exported duplicates CSV (header dedupjob.CSVHeader:
// cluster,ref,...,decision,...) against a truth CSV (ref,person[,role,
// relation,related,noise]).
func Score(truth, duplicates io.Reader, opt ScoreOptions) (*Scores, error) {
	refs, rows, err := readTruth(truth)
	if err != nil {
		return nil, err
	}
	cases, err := readCases(duplicates)
	if err != nil {
		return nil, err
	}
	s := &Scores{Rows: opt.Rows, Imported: opt.Imported, ImportRate: -1, ByTrait: map[string]Tally{},
		FalseLinks: map[string]int{}}
	if s.Rows <= 0 {
		s.Rows = len(rows)
	}
	if s.Imported >= 0 {
		s.ImportRate = float64(s.Imported) / float64(max(1, s.Rows))
	}
	found := s.scoreCases(cases, refs, rows)
	s.truePairs(rows, found, opt.Refused)
	s.Precision = ratio(s.TruePositives, s.Pairs)
	s.Recall = ratio(s.TruePositives, s.TruePairs)
	s.AutoPrecision = ratio(s.AutoTrue, s.AutoPairs)
	s.ReviewShare = float64(s.ReviewRecords) / float64(max(1, s.Rows))
	return s, nil
}

// ratio is a/b, or 1 when b is 0 (nothing claimed, nothing wrong).
func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

type exportCase struct {
	refs     []string
	decision string
}

// scoreCases counts the cases' pairs; it returns the true pairs found, by
// the truth's row indexes (lower first).
func (s *Scores) scoreCases(cases []exportCase, refs map[string]int, rows []truthRow) map[[2]int]bool {
	decided := map[[2]int]string{} // pair -> auto or review (auto wins)
	review := map[string]bool{}
	unknown := -1
	for _, c := range cases {
		idx := make([]int, 0, len(c.refs))
		for _, r := range c.refs {
			i, ok := refs[r]
			if !ok {
				s.UnknownRefs++
				i, unknown = unknown, unknown-1 // a stranger to everybody
			}
			idx = append(idx, i)
			if c.decision != "auto" {
				review[r] = true
			}
		}
		for a := range idx {
			for b := a + 1; b < len(idx); b++ {
				k := [2]int{min(idx[a], idx[b]), max(idx[a], idx[b])}
				if k[0] == k[1] {
					continue
				}
				if decided[k] != "auto" {
					decided[k] = c.decision
				}
			}
		}
	}
	s.ReviewRecords = len(review)
	found := map[[2]int]bool{}
	for k, d := range decided {
		s.Pairs++
		same := k[0] >= 0 && rows[k[0]].person == rows[k[1]].person
		if d == "auto" {
			s.AutoPairs++
		}
		if same {
			s.TruePositives++
			found[k] = true
			if d == "auto" {
				s.AutoTrue++
			}
			continue
		}
		s.FalseLinks[d+":"+relation(k, rows)]++
	}
	return found
}

// relation says how the persons of a false pair are related.
func relation(k [2]int, rows []truthRow) string {
	if k[0] < 0 {
		return "unknown_ref"
	}
	a, b := rows[k[0]], rows[k[1]]
	switch {
	case a.related == b.person && a.relation != "":
		return a.relation
	case b.related == a.person && b.relation != "":
		return b.relation
	case a.related != "" && a.related == b.related && a.relation == b.relation:
		return a.relation + "s" // e.g. two relatives of one person
	}
	return "unrelated"
}

// truePairs counts the roll's true pairs and tallies them by trait.
func (s *Scores) truePairs(rows []truthRow, found map[[2]int]bool, refused map[string]bool) {
	byPerson := map[string][]int{}
	for i, r := range rows {
		byPerson[r.person] = append(byPerson[r.person], i)
	}
	for _, idx := range byPerson {
		for a := range idx {
			for b := a + 1; b < len(idx); b++ {
				s.TruePairs++
				k := [2]int{idx[a], idx[b]}
				s.tally(k, rows, found[k], refused)
			}
		}
	}
}

func (s *Scores) tally(k [2]int, rows []truthRow, found bool, refused map[string]bool) {
	traits := map[string]bool{}
	for _, i := range k {
		r := rows[i]
		if refused[r.ref] {
			traits["refused"] = true
		}
		if r.role != "" && r.role != "home" {
			traits["role:"+r.role] = true
		}
		for _, n := range r.noise {
			traits[n] = true
		}
	}
	if len(rows[k[0]].noise)+len(rows[k[1]].noise) == 0 {
		traits["no_noise"] = true
	}
	for t := range traits {
		x := s.ByTrait[t]
		x.Pairs++
		if found {
			x.Found++
		}
		s.ByTrait[t] = x
	}
}

// readTruth reads ref,person[,role,relation,related,noise] with its header.
func readTruth(r io.Reader) (map[string]int, []truthRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: truth: %v", ErrFormat, err)
	}
	col := columns(head)
	ref, person := col["ref"], col["person"]
	if ref < 0 || person < 0 {
		return nil, nil, fmt.Errorf("%w: truth: the header must name ref and person", ErrFormat)
	}
	get := func(rec []string, name string) string {
		if i := col[name]; i >= 0 && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	refs := map[string]int{}
	var rows []truthRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return refs, rows, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: truth: %v", ErrFormat, err)
		}
		if len(rec) <= max(ref, person) {
			return nil, nil, fmt.Errorf("%w: truth: short row %q", ErrFormat, rec)
		}
		t := truthRow{ref: rec[ref], person: rec[person], role: get(rec, "role"), relation: get(rec, "relation"),
			related: get(rec, "related")}
		if n := get(rec, "noise"); n != "" {
			t.noise = strings.Split(n, "+")
		}
		refs[rec[ref]] = len(rows)
		rows = append(rows, t)
	}
}

// columns maps header names to positions; absent names map to -1.
func columns(head []string) map[string]int {
	col := map[string]int{}
	for _, n := range []string{"ref", "person", "role", "relation", "related", "noise", "cluster", "decision"} {
		col[n] = -1
	}
	for i, h := range head {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	return col
}

// readCases reads an export of duplicates: one row per record of a case.
func readCases(r io.Reader) ([]exportCase, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: duplicates: %v", ErrFormat, err)
	}
	col := columns(head)
	cl, ref, dec := col["cluster"], col["ref"], col["decision"]
	if cl < 0 || ref < 0 || dec < 0 {
		return nil, fmt.Errorf("%w: duplicates: the header must name cluster, ref and decision", ErrFormat)
	}
	byID := map[string]int{}
	var out []exportCase
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: duplicates: %v", ErrFormat, err)
		}
		if len(rec) <= max(cl, ref, dec) {
			return nil, fmt.Errorf("%w: duplicates: short row %q", ErrFormat, rec)
		}
		i, ok := byID[rec[cl]]
		if !ok {
			i = len(out)
			byID[rec[cl]] = i
			out = append(out, exportCase{decision: rec[dec]})
		}
		out[i].refs = append(out[i].refs, rec[ref])
	}
}

// PrintScores prints the figures as a small table, with the targets.
func PrintScores(w io.Writer, s *Scores) {
	mark := func(ok bool) string {
		if ok {
			return "✓"
		}
		return "✗"
	}
	fmt.Fprintf(w, "%-34s %10s  %s\n", "指标 / figure", "值 / value", "目标 / target")
	fmt.Fprintf(w, "%-34s %10d\n", "行 / rows", s.Rows)
	if s.Imported >= 0 {
		fmt.Fprintf(w, "%-34s %10d\n", "已导入 / imported", s.Imported)
		fmt.Fprintf(w, "%-34s %10.4f  ≥ %.2f %s\n", "导入率 / import rate", s.ImportRate, TargetImportRate,
			mark(s.ImportRate >= TargetImportRate))
	}
	fmt.Fprintf(w, "%-34s %10d\n", "真实重复对 / true pairs", s.TruePairs)
	fmt.Fprintf(w, "%-34s %10d（自动 / auto %d）\n", "查出的对 / pairs found", s.Pairs, s.AutoPairs)
	fmt.Fprintf(w, "%-34s %10.4f  ≥ %.3f %s\n", "精确率 / precision", s.Precision, TargetPrecision,
		mark(s.Precision >= TargetPrecision))
	fmt.Fprintf(w, "%-34s %10.4f  ≥ %.2f %s\n", "召回率 / recall", s.Recall, TargetRecall, mark(s.Recall >= TargetRecall))
	fmt.Fprintf(w, "%-34s %10.4f  ≥ %.3f %s\n", "自动精确率 / auto precision", s.AutoPrecision, TargetAutoPrecision,
		mark(s.AutoPrecision >= TargetAutoPrecision))
	fmt.Fprintf(w, "%-34s %9.2f%%  ≤ %.0f%% %s\n", "待审比例 / review queue", 100*s.ReviewShare, 100*TargetReviewShare,
		mark(s.ReviewShare <= TargetReviewShare))
	if s.UnknownRefs > 0 {
		fmt.Fprintf(w, "%-34s %10d\n", "真值中没有的 ref / refs not in truth", s.UnknownRefs)
	}
}

// PrintBreakdown prints recall by trait (most pairs missed first) and the
// false links by kind.
func PrintBreakdown(w io.Writer, s *Scores) {
	if len(s.ByTrait) > 0 {
		type row struct {
			trait string
			t     Tally
		}
		var rs []row
		for k, t := range s.ByTrait {
			rs = append(rs, row{k, t})
		}
		sort.Slice(rs, func(i, j int) bool {
			mi, mj := rs[i].t.Pairs-rs[i].t.Found, rs[j].t.Pairs-rs[j].t.Found
			if mi != mj {
				return mi > mj
			}
			return rs[i].trait < rs[j].trait
		})
		fmt.Fprintf(w, "漏掉的重复对，按特征 / missed true pairs by trait (a pair may have several):\n")
		fmt.Fprintf(w, "  %-22s %8s %8s %8s\n", "特征 / trait", "对 pairs", "漏 missed", "召回 recall")
		for _, r := range rs {
			fmt.Fprintf(w, "  %-22s %8d %8d %8.3f\n", r.trait, r.t.Pairs, r.t.Pairs-r.t.Found, ratio(r.t.Found, r.t.Pairs))
		}
	}
	if len(s.FalseLinks) > 0 {
		keys := make([]string, 0, len(s.FalseLinks))
		for k := range s.FalseLinks {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return s.FalseLinks[keys[i]] > s.FalseLinks[keys[j]] })
		fmt.Fprintf(w, "错误的对，按判定与关系 / false pairs by decision and relation:\n")
		for _, k := range keys {
			fmt.Fprintf(w, "  %-22s %8d\n", k, s.FalseLinks[k])
		}
	}
}

// WriteJSON writes v as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
