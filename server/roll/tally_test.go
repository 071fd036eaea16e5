package roll_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/dengji/dengji/server/roll"
	"github.com/dengji/dengji/server/store"
)

// A tally's figures are ComputeStats's, whole or in a scope, before and
// after more records arrive (counted again for the districts they touch).
func TestTally_MatchesComputeStats(t *testing.T) {
	ctx := context.Background()
	st := verificationFixture(t)
	tally := roll.NewTally()
	town := (&store.User{Role: store.RoleCoordinator, Districts: []string{"430102001"}}).InScope
	check := func(when string) {
		t.Helper()
		if err := tally.Refresh(ctx, st); err != nil {
			t.Fatal(err)
		}
		for name, in := range map[string]func(string) bool{"all": nil, "town": town} {
			want, err := roll.ComputeStats(ctx, st, in)
			if err != nil {
				t.Fatal(err)
			}
			w, _ := json.Marshal(want)
			g, _ := json.Marshal(tally.Stats(in))
			if string(w) != string(g) {
				t.Errorf("%s, %s:\n tally %s\n stats %s", when, name, g, w)
			}
		}
	}
	check("first count")
	more := "姓名,性别,出生日期,身份证号,选区,选民小组,状态,减少原因\n" +
		"周九,男,1970-01-01,,430102002001,1,,\n" +
		"吴十,女,1971-01-01,,430102002001,1,removed,moved_out\n"
	if _, err := roll.ImportRegistrations(ctx, st, strings.NewReader(more), roll.Options{}); err != nil {
		t.Fatal(err)
	}
	check("after an import")
	days, n := tally.PerDay(nil), 0
	for _, d := range days {
		n += d.Count
	}
	if n != 10 || len(days) == 0 {
		t.Fatalf("registrations per day %v: want 10 in all", days)
	}
}

// The verification list read through a tally's candidates is the list read
// from every record, page by page, and stays so after a correction.
func TestTally_VerificationCandidates(t *testing.T) {
	ctx := context.Background()
	st := verificationFixture(t)
	tally := roll.NewTally()
	pages := func(candidates bool) []string {
		t.Helper()
		if err := tally.Refresh(ctx, st); err != nil {
			t.Fatal(err)
		}
		q := roll.VerificationQuery{Limit: 2}
		if candidates {
			q.Candidates = tally.Unverified
		}
		var out []string
		for {
			p, err := roll.ListUnverified(ctx, st, q)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, strings.Join(names(p.Items), ","))
			if p.Next == "" {
				return out
			}
			q.After = p.Next
		}
	}
	want := pages(false)
	if got := pages(true); strings.Join(got, "|") != strings.Join(want, "|") || len(want) < 3 {
		t.Fatalf("with candidates %v, without %v", got, want)
	}
	more := "姓名,性别,出生日期,身份证号,选区,选民小组,状态,减少原因\n周九,男,1970-01-01,,430102002001,1,,\n"
	if _, err := roll.ImportRegistrations(ctx, st, strings.NewReader(more), roll.Options{}); err != nil {
		t.Fatal(err)
	}
	want = pages(false)
	if got := pages(true); strings.Join(got, "|") != strings.Join(want, "|") || !strings.Contains(strings.Join(want, ","), "周九") {
		t.Fatalf("after an import: with candidates %v, without %v", got, want)
	}
}
