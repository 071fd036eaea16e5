package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/api"
	"github.com/dengji/dengji/server/election"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore/bolttest"
	dsync "github.com/dengji/dengji/sync"
)

// The election is data: an admin sets it through the API (checked field by
// field, audited), pushes are validated against it from then on, and a
// device reads it with its scope and districts in the rules it checks
// offline.
func TestAPI_Election(t *testing.T) {
	live := election.NewLive(model.Election{})
	s := startServerOn(t, bolttest.Open(t), func(c *api.Config) {
		c.Election = live
		c.Validator = store.LiveModelValidator(live.Rules)
	})
	for _, d := range []model.District{{Code: "430102001001", Name: "一村", Kind: "village"},
		{Code: "430102001002", Name: "二村", Kind: "village"}} {
		if err := s.st.Update(context.Background(), func(tx store.Tx) error { return tx.PutDistrict(&d) }); err != nil {
			t.Fatal(err)
		}
	}
	admin := s.login(t, "admin", "admin-pass", "")
	li := s.login(t, "li", "li-password", "phone-1")

	bad := model.Election{Name: "换届选举", Day: "2026-12-20", ListDeadline: "2026-13-01"}
	var eb dsync.ErrorBody
	if code := s.call(t, "PUT", "/v1/admin/election", admin.AccessToken, bad, &eb); code != 400 ||
		eb.Error.Code != "bad_election" || !strings.Contains(eb.Error.Message, "list_deadline") {
		t.Fatalf("a bad date: %d %+v", code, eb)
	}
	if code, c := errCode(t, s, "PUT", "/v1/admin/election", li.AccessToken, bad); code != 403 || c != "forbidden" {
		t.Fatalf("a registrar sets the election: %d %s", code, c)
	}
	e := model.Election{Name: "2026年换届选举", Day: "2026-12-20", RegistrationDeadline: "2026-11-20", ListDeadline: "2026-11-30"}
	var got model.Election
	if code := s.call(t, "PUT", "/v1/admin/election", admin.AccessToken, e, &got); code != 200 || got != e {
		t.Fatalf("set: %d %+v", code, got)
	}
	if code := s.call(t, "GET", "/v1/admin/election", admin.AccessToken, nil, &got); code != 200 || got != e {
		t.Fatalf("get: %d %+v", code, got)
	}
	var audit struct {
		Entries []struct{ Action string } `json:"entries"`
	}
	s.call(t, "GET", "/v1/admin/audit", admin.AccessToken, nil, &audit)
	if n := countAction(audit.Entries, "election_changed"); n != 1 {
		t.Fatalf("%d election_changed entries, want 1", n)
	}

	// Someone born 2008-12-21 is 17 on 2026-12-20: refused by the live rules.
	young := create("phone-1", "r-young", "430102001001", 1)
	young.HLC = dsync.MakeHLC(time.Now().UnixMilli(), 0)
	young.Set = map[string]json.RawMessage{"name": json.RawMessage(`"黄金"`), "birth_date": json.RawMessage(`"2008-12-21"`)}
	var pr dsync.PushResponse
	if code := s.call(t, "POST", "/v1/push", li.AccessToken, dsync.PushRequest{Changes: []dsync.Change{young}}, &pr); code != 200 ||
		pr.Results[0].Code != dsync.CodeValidation || !strings.Contains(string(pr.Results[0].Details), model.CodeUnderAge) {
		t.Fatalf("an under-age registration after the election was set: %d %+v", code, pr)
	}

	var rules dsync.Rules
	if code := s.call(t, "GET", "/v1/rules", li.AccessToken, nil, &rules); code != 200 {
		t.Fatalf("rules: %d", code)
	}
	if rules.Election != e || len(rules.Scope) != 1 || rules.Scope[0] != "430102001001" || rules.AllDistricts ||
		len(rules.Districts) != 1 || rules.Districts[0].Name != "一村" {
		t.Fatalf("li's rules: %+v", rules)
	}
	// Asked again with the ETag while nothing changed: 304, no body.
	req, _ := http.NewRequest("GET", s.URL()+"/v1/rules", nil)
	req.Header.Set("Authorization", "Bearer "+li.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != 304 {
		t.Fatalf("rules unchanged: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
}

func countAction(es []struct{ Action string }, action string) int {
	n := 0
	for _, e := range es {
		if e.Action == action {
			n++
		}
	}
	return n
}
