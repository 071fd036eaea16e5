package e2e

import (
	"encoding/json"
	"errors"
	"testing"

	sdk "github.com/dengji/dengji/client-sdk"
	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/store"
)

// A change the server refuses is refused alone: the other 999 of its batch
// are applied, the device keeps syncing, and the registrar corrects the
// refused one (a new edit) or discards it, and is told either way.
func TestE2E_RefusedChangeAlone(t *testing.T) {
	s := startServer(t)
	s.addUser(t, "li", store.RoleRegistrar, "430102001001")
	s.addUser(t, "wang", store.RoleRegistrar, "430102001002")
	other := s.device(t, "wang", s.URL(), sdk.Options{})
	mustSync(t, other)

	// A new device knows no scope yet: the mistyped district is kept and
	// sent with the rest.
	li := s.device(t, "li", s.URL(), sdk.Options{})
	var wrong, some string
	for i := range 1000 {
		district := "430102001001"
		if i == 500 {
			district = "430102001002"
		}
		id, err := li.Create(model.TypeRegistration, district, registration(uint64(i+1)))
		must(t, err)
		if i == 500 {
			wrong = id
		}
	}
	rep := mustSync(t, li)
	if rep.Pushed["applied"] != 999 || rep.Rejections != 1 {
		t.Fatalf("one batch of 1,000 with one change out of scope: %+v", rep)
	}
	rej, err := li.Rejected()
	if err != nil || len(rej) != 1 || rej[0].Change.Record != wrong || rej[0].Result.Code != "out_of_scope" {
		t.Fatalf("the app is told of the refused change: %+v %v", rej, err)
	}
	if n := len(deviceStates(t, li)); n != 999 {
		t.Fatalf("the device shows %d records, want the 999 the server took", n)
	}
	// The device goes on syncing: another's edit of a record still reaches it.
	for id := range deviceStates(t, li) {
		some = id
		break
	}
	must(t, li.Update(some, map[string]json.RawMessage{"voter_group": str("第9选民小组")}))
	mustSync(t, li)

	// Corrected: a new create of the same record in the right district.
	id, err := li.Correct(rej[0].Change.ID, "430102001001", nil)
	if err != nil || id != wrong {
		t.Fatalf("correct: %s %v", id, err)
	}
	if rej, _ := li.Rejected(); len(rej) != 0 {
		t.Fatalf("a corrected change leaves the rejected list: %+v", rej)
	}
	rep = mustSync(t, li)
	if rep.Pushed["applied"] != 1 || s.record(t, wrong).District != "430102001001" {
		t.Fatalf("the correction: %+v", rep)
	}
	if _, err := other.Get(wrong); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("the other district's device must not see it: %v", err)
	}

	// Discarded: refused, seen, forgotten.
	fresh := s.device(t, "li", s.URL(), sdk.Options{})
	_, err = fresh.Create(model.TypeRegistration, "430102001002", registration(5000))
	must(t, err)
	mustSync(t, fresh)
	rej, _ = fresh.Rejected()
	if len(rej) != 1 {
		t.Fatalf("refused: %+v", rej)
	}
	must(t, fresh.Discard(rej[0].Change.ID))
	if rej, _ := fresh.Rejected(); len(rej) != 0 {
		t.Fatalf("a discarded change leaves the list: %+v", rej)
	}
	if err := fresh.Discard("no-such-change"); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("discard of nothing: %v", err)
	}
}

// After its first sync a device knows its scope and the election: a create
// outside the scope or of someone under 18 on election day is refused on
// the device, before anything is stored or sent.
func TestE2E_OfflineRulesRefuse(t *testing.T) {
	s := startServer(t)
	s.addUser(t, "li", store.RoleRegistrar, "430102001001")
	li := s.device(t, "li", s.URL(), sdk.Options{}) // no election day of its own
	mustSync(t, li)
	rules, ok := li.Rules()
	if !ok || rules.Election.Day != "2026-12-20" || len(rules.Scope) != 1 {
		t.Fatalf("rules learned: %+v %v", rules, ok)
	}
	_, err := li.Create(model.TypeRegistration, "430102001002", registration(1))
	var ve *sdk.ValidationError
	if !errors.As(err, &ve) || !hasIssue(ve.Issues, "district", sdk.CodeOutOfScope) {
		t.Fatalf("a create outside the scope: %v", err)
	}
	young := registration(2)
	delete(young, "id_number")
	young["birth_date"] = str("2008-12-21") // 17 on 2026-12-20
	_, err = li.Create(model.TypeRegistration, "430102001001", young)
	if !errors.As(err, &ve) || !hasIssue(ve.Issues, "birth_date", model.CodeUnderAge) {
		t.Fatalf("an under-age create: %v", err)
	}
	if n, _ := li.Pending(); n != 0 {
		t.Fatalf("refused offline, nothing to send: %d pending", n)
	}
}
