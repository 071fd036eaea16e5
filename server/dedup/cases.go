package dedup

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"sort"
	"strings"
)

// Status is where a case stands with the people who review it.
type Status string

// Case statuses. Only StatusOpen cases are ever changed by a run.
const (
	StatusOpen      Status = "open"
	StatusConfirmed Status = "confirmed" // same person; Keep is the registration kept
	StatusRejected  Status = "rejected"  // not the same person; never proposed again
)

// Case is a duplicate case as stored and shown to coordinators.
type Case struct {
	ID       string
	Records  []string // sorted record IDs
	Decision Decision // what the engine proposed: auto or review
	Status   Status
	Keep     string // record to keep (chosen by a person once confirmed)
	Score    float64
	Evidence []Link
}

// Proposals turns a result's clusters into open cases with IDs derived
// from their members.
func (r *Result) Proposals() []Case {
	out := make([]Case, 0, len(r.Clusters))
	for _, c := range r.Clusters {
		out = append(out, Case{ID: CaseID(c.Records), Records: slices.Clone(c.Records), Decision: c.Decision,
			Status: StatusOpen, Keep: c.Keep, Score: c.Score, Evidence: c.Links})
	}
	return out
}

// CaseID derives a stable case ID from the sorted member record IDs.
func CaseID(records []string) string {
	rs := slices.Clone(records)
	sort.Strings(rs)
	h := sha256.Sum256([]byte(strings.Join(rs, "\x00")))
	return "dup-" + hex.EncodeToString(h[:8])
}

// Reconcile merges a run's proposals into the previous cases without ever
// undoing a person's decision:
//   - confirmed and rejected cases are returned exactly as they were;
//   - a proposal never pairs two records of one rejected case again, and
//     the members of a confirmed case appear in a new proposal only through
//     its kept record (so that a new registration can be matched against it);
//   - a proposal with the same members as an open case keeps its ID, and one
//     that grew from an open case keeps that case's ID;
//   - with full, open cases the run did not propose again are dropped (the
//     data no longer supports them); otherwise (an incremental run) open
//     cases that share no record with any proposal are kept.
func Reconcile(prev, proposed []Case, full bool) []Case {
	var out []Case
	rejected := map[[2]string]bool{}
	keepOf := map[string]string{}
	decided := map[string]bool{}
	for _, c := range prev {
		switch c.Status {
		case StatusRejected:
			for i := range c.Records {
				for j := range c.Records {
					rejected[[2]string{c.Records[i], c.Records[j]}] = true
				}
			}
		case StatusConfirmed:
			k := c.Keep
			if k == "" && len(c.Records) > 0 {
				k = c.Records[0]
			}
			for _, r := range c.Records {
				keepOf[r] = k
			}
		default:
			continue
		}
		decided[c.ID] = true
		out = append(out, c)
	}
	decidedSets := map[string]bool{}
	for _, c := range out {
		decidedSets[setKey(c.Records)] = true
	}
	opens := indexOpen(openCases(prev))
	touched := map[string]bool{}
	used := map[string]bool{}
	for _, p := range proposed {
		for _, recs := range split(p.Records, keepOf, rejected) {
			if decidedSets[setKey(recs)] {
				continue
			}
			c := p
			c.Records, c.Status = recs, StatusOpen
			c.ID = opens.stableID(recs, used)
			used[c.ID] = true
			if !slices.Contains(recs, c.Keep) {
				c.Keep = recs[0]
			}
			out = append(out, c)
			for _, r := range recs {
				touched[r] = true
			}
		}
	}
	if !full {
		out = appendUntouched(out, opens.cases, touched, used)
	}
	return out
}

func setKey(recs []string) string {
	rs := slices.Clone(recs)
	sort.Strings(rs)
	return strings.Join(rs, "\x00")
}

func openCases(prev []Case) []Case {
	var o []Case
	for _, c := range prev {
		if c.Status != StatusConfirmed && c.Status != StatusRejected {
			o = append(o, c)
		}
	}
	return o
}

// split maps confirmed members to their kept record and separates records
// that a person said are different people; groups of one are dropped.
func split(recs []string, keepOf map[string]string, rejected map[[2]string]bool) [][]string {
	var mapped []string
	for _, r := range recs {
		if k, ok := keepOf[r]; ok {
			r = k
		}
		mapped = append(mapped, r)
	}
	sort.Strings(mapped)
	mapped = slices.Compact(mapped)
	var groups [][]string
	for _, r := range mapped {
		placed := false
		for i, g := range groups {
			if !anyRejected(r, g, rejected) {
				groups[i] = append(g, r)
				placed = true
				break
			}
		}
		if !placed {
			groups = append(groups, []string{r})
		}
	}
	var out [][]string
	for _, g := range groups {
		if len(g) >= 2 && !allConfirmedTogether(g, keepOf) {
			out = append(out, g)
		}
	}
	return out
}

func anyRejected(r string, g []string, rejected map[[2]string]bool) bool {
	for _, x := range g {
		if rejected[[2]string{r, x}] {
			return true
		}
	}
	return false
}

// allConfirmedTogether reports a group that is one confirmed case already.
func allConfirmedTogether(g []string, keepOf map[string]string) bool {
	k, ok := keepOf[g[0]]
	if !ok {
		return false
	}
	for _, r := range g[1:] {
		if keepOf[r] != k {
			return false
		}
	}
	return true
}

// openIndex finds the open cases of a previous run by their member set and
// by member, so reconciling a run's proposals with as many open cases costs
// a lookup each, not a scan.
type openIndex struct {
	cases []Case
	byKey map[string][]int // setKey -> positions in cases
	byRec map[string][]int // record -> positions of the cases holding it
}

func indexOpen(opens []Case) *openIndex {
	ix := &openIndex{cases: opens, byKey: make(map[string][]int, len(opens)), byRec: make(map[string][]int, 2*len(opens))}
	for i, o := range opens {
		k := setKey(o.Records)
		ix.byKey[k] = append(ix.byKey[k], i)
		for _, r := range o.Records {
			ix.byRec[r] = append(ix.byRec[r], i)
		}
	}
	return ix
}

// stableID reuses the ID of an open case with the same members, else of
// the first open case the proposal contains, else derives one.
func (ix *openIndex) stableID(recs []string, used map[string]bool) string {
	for _, i := range ix.byKey[setKey(recs)] {
		if id := ix.cases[i].ID; !used[id] {
			return id
		}
	}
	first := -1
	for _, r := range recs {
		for _, i := range ix.byRec[r] {
			if (first < 0 || i < first) && !used[ix.cases[i].ID] && subset(ix.cases[i].Records, recs) {
				first = i
			}
		}
	}
	if first >= 0 {
		return ix.cases[first].ID
	}
	return CaseID(recs)
}

func subset(small, big []string) bool {
	for _, r := range small {
		if !slices.Contains(big, r) {
			return false
		}
	}
	return true
}

func appendUntouched(out, opens []Case, touched, used map[string]bool) []Case {
	for _, o := range opens {
		if used[o.ID] {
			continue
		}
		hit := false
		for _, r := range o.Records {
			hit = hit || touched[r]
		}
		if !hit {
			out = append(out, o)
		}
	}
	return out
}
