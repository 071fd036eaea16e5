package api_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/dedup"
	"github.com/dengji/dengji/server/dedup/gen"
	"github.com/dengji/dengji/server/dedupjob"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// pushRoll writes registrations through store.Push as one device would.
func pushRoll(t *testing.T, st store.Store, recs []dedup.Record) {
	t.Helper()
	chs := make([]dsync.Change, len(recs))
	for i, r := range recs {
		reg := model.Registration{Name: r.Name, Gender: r.Gender, BirthDate: r.BirthDate, IDNumber: r.IDNumber,
			HouseholdAddress: r.HouseholdAddress, ResidenceAddress: r.ResidenceAddress, Phone: r.Phone}
		chs[i] = dsync.Change{ID: fmt.Sprintf("tab-%d", i+1), Device: "tab", Counter: uint64(i + 1), Record: r.ID,
			Type: model.TypeRegistration, District: r.District, Op: dsync.OpCreate, Set: reg.Fields(),
			Base: map[string]string{}, HLC: dsync.MakeHLC(1700000000000, uint16(i))}
	}
	if _, err := store.Push(context.Background(), st, store.PushRequest{Device: "tab", Author: "li", Changes: chs}); err != nil {
		t.Fatal(err)
	}
}

// dupRoll is a roll in another county's district 430103001001 with two
// planted pairs: A (430102001001 and 430104001001) and B (430102001001 and
// 430102001002).
func dupRoll() (recs []dedup.Record, a, b [2]string) {
	recs, pairs := plantedRoll([3]string{"430102001001", "430104001001", "xa"}, [3]string{"430102001001", "430102001002", "xb"})
	return recs, pairs[0], pairs[1]
}

// plantedRoll is a generated roll of people registered once, in district
// 430103001001, with a person registered twice for each plant: in the
// plant's first district and again, as record ID plant[2], in its second.
// It returns the record IDs of each planted pair.
func plantedRoll(plants ...[3]string) ([]dedup.Record, [][2]string) {
	recs, truth := gen.Generate(gen.DefaultConfig(200, 11))
	count := map[string]int{}
	for _, p := range truth {
		count[p]++
	}
	var single []int
	for i := range recs {
		recs[i].District = "430103001001"
		if count[truth[i]] == 1 {
			single = append(single, i)
		}
	}
	var pairs [][2]string
	for k, pl := range plants {
		i := single[k]
		recs[i].District = pl[0]
		dup := recs[i]
		dup.ID, dup.District = pl[2], pl[1]
		recs = append(recs, dup)
		pairs = append(pairs, [2]string{recs[i].ID, pl[2]})
	}
	return recs, pairs
}

type duplicatesBody struct {
	Cases []struct {
		ID      string `json:"id"`
		Status  string `json:"status"`
		Members []struct {
			Record       string              `json:"record"`
			District     string              `json:"district"`
			Registration *model.Registration `json:"registration"`
		} `json:"members"`
		Evidence []dedup.Link `json:"evidence"`
	} `json:"cases"`
}

func TestAPI_DuplicatesReviewScoped(t *testing.T) {
	s := startServer(t)
	recs, pairA, pairB := dupRoll()
	pushRoll(t, s.st, recs)
	admin := s.login(t, "admin", "admin-pass", "")
	wang := s.login(t, "wang", "wang-password", "")
	li := s.login(t, "li", "li-password", "phone-1")

	if code, ecode := errCode(t, s, "POST", "/v1/admin/dedup", wang.AccessToken, nil); code != 403 || ecode != "forbidden" {
		t.Fatalf("coordinator starts a run: %d %s", code, ecode)
	}
	if code := s.call(t, "POST", "/v1/admin/dedup", admin.AccessToken, nil, nil); code != 202 {
		t.Fatalf("start: %d", code)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var st dedupjob.Status
		if code := s.call(t, "GET", "/v1/admin/dedup", admin.AccessToken, nil, &st); code != 200 {
			t.Fatalf("status: %d", code)
		}
		if !st.Running && st.Last != nil {
			if st.Error != "" || st.Last.Records != len(recs) {
				t.Fatalf("status %+v", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the run did not finish")
		}
		time.Sleep(20 * time.Millisecond)
	}

	var list duplicatesBody
	if code := s.call(t, "GET", "/v1/duplicates?status=open", wang.AccessToken, nil, &list); code != 200 {
		t.Fatalf("list: %d", code)
	}
	find := func(pair [2]string) string {
		for _, c := range list.Cases {
			rs := []string{}
			for _, m := range c.Members {
				rs = append(rs, m.Record)
				if m.Registration != nil && m.District != "430102001001" && m.District != "430102001002" {
					t.Errorf("case %s shows a registration of %s", c.ID, m.District)
				}
				if m.Registration == nil && (m.District == "430102001001" || m.District == "430102001002") {
					t.Errorf("case %s hides a registration of %s", c.ID, m.District)
				}
			}
			if slices.Contains(rs, pair[0]) && slices.Contains(rs, pair[1]) && len(c.Evidence) > 0 {
				return c.ID
			}
		}
		t.Fatalf("no case with evidence for %v in %+v", pair, list)
		return ""
	}
	caseA, caseB := find(pairA), find(pairB)

	tests := []struct {
		name, method, path, token string
		body                      any
		status                    int
		code                      string
	}{
		{"DecideOutOfScope", "POST", "/v1/duplicates/" + caseA + "/decide", wang.AccessToken,
			map[string]string{"decision": "confirmed", "keep": pairA[0]}, 403, "out_of_scope"},
		{"ListOutOfScope", "GET", "/v1/duplicates?district=430104001001", wang.AccessToken, nil, 403, "out_of_scope"},
		{"RegistrarLists", "GET", "/v1/duplicates", li.AccessToken, nil, 403, "forbidden"},
		{"BadDecision", "POST", "/v1/duplicates/" + caseB + "/decide", wang.AccessToken,
			map[string]string{"decision": "maybe"}, 400, "bad_decision"},
		{"BadKeep", "POST", "/v1/duplicates/" + caseB + "/decide", wang.AccessToken,
			map[string]string{"decision": "confirmed", "keep": "nobody"}, 400, "bad_keep"},
		{"UnknownCase", "POST", "/v1/duplicates/dup-none/decide", wang.AccessToken,
			map[string]string{"decision": "rejected"}, 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code := errCode(t, s, tt.method, tt.path, tt.token, tt.body)
			if status != tt.status || code != tt.code {
				t.Fatalf("got %d %q, want %d %q", status, code, tt.status, tt.code)
			}
		})
	}

	var decided struct {
		Removed []string `json:"removed"`
	}
	if code := s.call(t, "POST", "/v1/duplicates/"+caseB+"/decide", wang.AccessToken,
		map[string]any{"decision": "confirmed", "keep": pairB[1], "remove": true}, &decided); code != 200 {
		t.Fatalf("decide: %d", code)
	}
	if !slices.Equal(decided.Removed, []string{pairB[0]}) {
		t.Errorf("removed %v", decided.Removed)
	}
	if code, ecode := errCode(t, s, "POST", "/v1/duplicates/"+caseB+"/decide", wang.AccessToken,
		map[string]string{"decision": "rejected"}); code != 409 || ecode != "already_decided" {
		t.Errorf("decide again otherwise: %d %s", code, ecode)
	}
	list = duplicatesBody{}
	s.call(t, "GET", "/v1/duplicates?status=confirmed&district=430102001002", wang.AccessToken, nil, &list)
	if len(list.Cases) != 1 || list.Cases[0].ID != caseB {
		t.Errorf("confirmed in d2: %+v", list)
	}
}

// TestAPI_DuplicatesAreaScope: a county's and a town's coordinators see the
// duplicate cases of their work-unit districts too, whatever the length of
// the code (4301029001 numbered after the county, 430102001901 after the
// town), and another town's coordinator sees neither. Each work unit's
// partner is in another county, out of everyone's scope.
func TestAPI_DuplicatesAreaScope(t *testing.T) {
	s := startServer(t)
	recs, pairs := plantedRoll(
		[3]string{"430102001901", "430103002001", "x-town"},
		[3]string{"4301029001", "430103002001", "x-county"},
	)
	townUnit, countyUnit := pairs[0], pairs[1]
	pushRoll(t, s.st, recs)
	for _, u := range []accounts.NewUser{
		{Name: "county", Role: store.RoleCoordinator, Districts: []string{"430102"}, Password: "county-password"},
		{Name: "town", Role: store.RoleCoordinator, Districts: []string{"430102001"}, Password: "town-password"},
		{Name: "other", Role: store.RoleCoordinator, Districts: []string{"430102002"}, Password: "other-password"},
	} {
		if _, err := accounts.Add(context.Background(), s.st, u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := dedupjob.Run(context.Background(), s.st, dedupjob.DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	sees := func(user string) map[[2]string]bool {
		tok := s.login(t, user, user+"-password", "")
		var list duplicatesBody
		if code := s.call(t, "GET", "/v1/duplicates?status=open", tok.AccessToken, nil, &list); code != 200 {
			t.Fatalf("%s: list %d", user, code)
		}
		out := map[[2]string]bool{}
		for _, c := range list.Cases {
			var ids []string
			for _, m := range c.Members {
				ids = append(ids, m.Record)
			}
			for _, p := range pairs {
				if slices.Contains(ids, p[0]) && slices.Contains(ids, p[1]) {
					out[p] = true
				}
			}
		}
		return out
	}
	for user, want := range map[string][2]bool{"county": {true, true}, "town": {true, false}, "other": {false, false}} {
		got := sees(user)
		if got[townUnit] != want[0] || got[countyUnit] != want[1] {
			t.Errorf("%s sees the town's work unit's case %v, the county's %v; want %v", user, got[townUnit], got[countyUnit], want)
		}
	}
}
