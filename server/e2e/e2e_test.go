package e2e

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	sdk "github.com/dengji/dengji/client-sdk"
	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// Three registrars with overlapping districts edit offline and sync in
// different orders: they end with identical records, different-field edits
// merge, and same-field edits leave a conflict holding both values.
func TestE2E_ThreeDevicesConverge(t *testing.T) {
	s := startServer(t)
	s.addUser(t, "li", store.RoleRegistrar, "430102001001", "430102001002")
	s.addUser(t, "wang", store.RoleRegistrar, "430102001002", "430102002001")
	s.addUser(t, "zhao", store.RoleRegistrar, "430102001001", "430102001002", "430102002001")
	a, b, c := s.device(t, "li", s.URL(), sdk.Options{}), s.device(t, "wang", s.URL(), sdk.Options{}), s.device(t, "zhao", s.URL(), sdk.Options{})

	r1, err := a.Create(model.TypeRegistration, "430102001001", registration(1))
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := a.Create(model.TypeRegistration, "430102001002", registration(2))
	r3, _ := b.Create(model.TypeRegistration, "430102002001", registration(3))
	for _, d := range []*sdk.Device{a, b, c, a, b} {
		mustSync(t, d)
	}

	// Offline: different fields of r2 on a and b; the same field of r2 on a
	// and c; a deletes r1 while c edits it; b edits r3 alone.
	must(t, a.Update(r2, map[string]json.RawMessage{"name": str("梁峻青"), "voter_group": str("第3选民小组")}))
	must(t, b.Update(r2, map[string]json.RawMessage{"phone": str("13912345678")}))
	must(t, c.Update(r2, map[string]json.RawMessage{"voter_group": str("第5选民小组")}))
	must(t, a.Delete(r1))
	must(t, c.Update(r1, map[string]json.RawMessage{"residence_address": str("水塘垸12号")}))
	must(t, b.Update(r3, map[string]json.RawMessage{"name": str("王雄")}))

	for _, d := range []*sdk.Device{c, b, a, c, b, a} {
		mustSync(t, d)
	}

	server2 := stateOf(s.record(t, r2))
	if string(server2.values["name"]) != `"梁峻青"` || string(server2.values["phone"]) != `"13912345678"` {
		t.Fatalf("concurrent edits of different fields must both apply: %s", server2.values)
	}
	var groupConflict, deleteConflict *dsync.Conflict
	for _, cf := range s.conflicts(t) {
		switch {
		case cf.Record == r2 && cf.Field == "voter_group":
			groupConflict = &cf
		case cf.Record == r1:
			deleteConflict = &cf
		}
	}
	if groupConflict == nil || string(groupConflict.Kept.Value) != string(server2.values["voter_group"]) {
		t.Fatalf("same-field edits must store a conflict: %+v", groupConflict)
	}
	both := map[string]bool{string(groupConflict.Kept.Value): true, string(groupConflict.Other.Value): true}
	if !both[`"第3选民小组"`] || !both[`"第5选民小组"`] || groupConflict.Kept.Author == groupConflict.Other.Author {
		t.Fatalf("the conflict must hold both values and both authors: %+v", groupConflict)
	}
	if deleteConflict == nil {
		t.Fatal("an edit concurrent with a delete must be a conflict")
	}
	for _, d := range []*sdk.Device{a, b, c} {
		if d.ID() != groupConflict.Other.Device {
			continue
		}
		if cs, _ := d.Conflicts(); len(cs) == 0 {
			t.Fatal("the device whose edit was not applied must see the conflict")
		}
	}

	// Everyone agrees with the server on every record they share.
	scopes := map[*sdk.Device][]string{a: {"430102001001", "430102001002"}, b: {"430102001002", "430102002001"}, c: {"430102001001", "430102001002", "430102002001"}}
	for d, districts := range scopes {
		got := deviceStates(t, d)
		for _, id := range []string{r1, r2, r3} {
			rec := s.record(t, id)
			if !contains(districts, rec.District) {
				if _, ok := got[id]; ok {
					t.Errorf("device %s holds %s of district %s outside its scope", d.ID(), id, rec.District)
				}
				continue
			}
			if want := stateOf(rec); !got[id].equal(want) {
				t.Errorf("device %s record %s: %+v, server %+v", d.ID(), id, got[id], want)
			}
		}
		if n, _ := d.Pending(); n != 0 {
			t.Errorf("device %s still has %d pending changes", d.ID(), n)
		}
	}
}

// A record the server would refuse cannot be created through the SDK: the
// device refuses it first with the same codes, and a device that skipped its
// own check is refused by the server.
func TestE2E_InvalidRecordRefusedOnDeviceAndServer(t *testing.T) {
	s := startServer(t)
	s.addUser(t, "li", store.RoleRegistrar, "430102001001")
	bad := registration(7) // neither an ID number nor a birth date: nobody could act on it
	delete(bad, "id_number")
	delete(bad, "birth_date")

	honest := s.device(t, "li", s.URL(), sdk.Options{})
	_, err := honest.Create(model.TypeRegistration, "430102001001", bad)
	var verr *sdk.ValidationError
	if !errors.As(err, &verr) || !hasIssue(verr.Issues, "id_number", model.CodeIdentityRequired) {
		t.Fatalf("device validation: %v", err)
	}
	if n, _ := honest.Pending(); n != 0 {
		t.Fatal("a refused record must not enter the outbox")
	}

	careless := s.device(t, "li", s.URL(), sdk.Options{
		Validate: func(string, string, map[string]json.RawMessage) error { return nil }})
	rid, err := careless.Create(model.TypeRegistration, "430102001001", bad)
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, careless)
	rej, _ := careless.Rejected()
	if len(rej) != 1 || rej[0].Result.Code != dsync.CodeValidation {
		t.Fatalf("server must reject: %+v", rej)
	}
	var issues []model.Issue
	json.Unmarshal(rej[0].Result.Details, &issues)
	if !hasServerIssue(issues, "id_number", model.CodeIdentityRequired) {
		t.Fatalf("server must use the same codes: %s", rej[0].Result.Details)
	}
	if err := s.st.View(ctx, func(tx store.Tx) error { _, err := tx.Record(rid); return err }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the invalid record reached the server: %v", err)
	}
}

// What a person can fix later is kept on both ends: a registration without
// an ID number and one whose ID fails its check digit are accepted offline,
// applied by the server, and both ends judge them alike (the same ID status
// from the same model).
func TestE2E_NeedsVerificationKeptOnDeviceAndServer(t *testing.T) {
	s := startServer(t)
	s.addUser(t, "li", store.RoleRegistrar, "430102001001")
	d := s.device(t, "li", s.URL(), sdk.Options{})
	noID := registration(41)
	delete(noID, "id_number")
	mistyped := registration(42)
	id := []byte(string(mistyped["id_number"]))
	id[5] = '0' + (id[5]-'0'+1)%10 // one digit wrong: the checksum catches it
	mistyped["id_number"] = id
	want := map[string]model.IDStatus{}
	for _, f := range []map[string]json.RawMessage{noID, mistyped} {
		rid, err := d.Create(model.TypeRegistration, "430102001001", f)
		if err != nil {
			t.Fatalf("a record needing verification refused on the device: %v", err)
		}
		rep := model.Validate(model.TypeRegistration, "430102001001", f, model.Rules{ElectionDay: electionDay})
		if !rep.NeedsVerification() {
			t.Fatalf("test record does not need verification: %+v", rep)
		}
		want[rid] = rep.IDStatus
	}
	mustSync(t, d)
	if rej, _ := d.Rejected(); len(rej) != 0 {
		t.Fatalf("the server refused what the device kept: %+v", rej[0].Result)
	}
	err := s.st.View(ctx, func(tx store.Tx) error {
		for rid, status := range want {
			rec, err := tx.Record(rid)
			if err != nil {
				return err
			}
			rep := model.ValidateSeq(rec.Type, rec.District, rec.All(), model.Rules{ElectionDay: electionDay})
			if rep.IDStatus != status || !rep.NeedsVerification() {
				t.Errorf("server status %s, device %s", rep.IDStatus, status)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A registrar cannot push or pull another district's records, and a revoked
// device is refused at once; neither loses what the device holds.
func TestE2E_ScopeAndRevocation(t *testing.T) {
	s := startServer(t)
	s.addUser(t, "li", store.RoleRegistrar, "430102001001")
	s.addUser(t, "wang", store.RoleRegistrar, "430102001002")
	s.addUser(t, "admin", store.RoleAdmin)
	other := s.device(t, "wang", s.URL(), sdk.Options{})
	foreign, _ := other.Create(model.TypeRegistration, "430102001002", registration(11))
	mustSync(t, other)

	// Before its first sync the device does not know its scope: the create
	// is kept, the server refuses it alone, and the device goes on.
	li := s.device(t, "li", s.URL(), sdk.Options{})
	li.Create(model.TypeRegistration, "430102001002", registration(12))
	rep := mustSync(t, li)
	rej, _ := li.Rejected()
	if rep.Rejections != 1 || len(rej) != 1 || rej[0].Result.Code != "out_of_scope" {
		t.Fatalf("push outside scope: %+v %+v", rep, rej)
	}
	if n, _ := li.Pending(); n != 0 {
		t.Fatalf("a refused change leaves the outbox for the rejected list, have %d pending", n)
	}
	if _, err := li.Get(foreign); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("a device must not receive another district's record: %v", err)
	}

	fresh := s.device(t, "li", s.URL(), sdk.Options{})
	fresh.Create(model.TypeRegistration, "430102001001", registration(13))
	if err := accountsRevoke(s, fresh.ID()); err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.Sync(ctx); !errors.Is(err, sdk.ErrRevoked) {
		t.Fatalf("revoked device: %v", err)
	}
	if n, _ := fresh.Pending(); n != 1 {
		t.Fatal("a revoked device keeps its pending change for the office to recover")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func hasIssue(is []sdk.Issue, field, code string) bool {
	for _, i := range is {
		if i.Field == field && i.Code == code {
			return true
		}
	}
	return false
}

func hasServerIssue(is []model.Issue, field, code string) bool {
	for _, i := range is {
		if i.Field == field && i.Code == code {
			return true
		}
	}
	return false
}

// A migrant contact travels with its registration, and the server refuses
// one whose registration it does not have in the same district.
func TestE2E_MigrantContactBelongsToRegistration(t *testing.T) {
	s := startServer(t)
	s.addUser(t, "li", store.RoleRegistrar, "430102001001", "430102001002")
	d := s.device(t, "li", s.URL(), sdk.Options{})
	reg, err := d.Create(model.TypeRegistration, "430102001001", registration(21))
	must(t, err)
	contact := func(regID string) map[string]json.RawMessage {
		return model.MigrantContact{RegistrationID: regID, Date: "2026-11-20", Channel: "phone", Reached: "本人",
			Outcome: "registered_here", Evidence: "heard"}.Fields()
	}
	ok, err := d.Create(model.TypeMigrantContact, "430102001001", contact(reg))
	must(t, err)
	orphan, err := d.Create(model.TypeMigrantContact, "430102001001", contact("no-such-registration"))
	must(t, err)
	elsewhere, err := d.Create(model.TypeMigrantContact, "430102001002", contact(reg))
	must(t, err)
	mustSync(t, d)

	s.record(t, ok)
	rej, _ := d.Rejected()
	refused := map[string]bool{}
	for _, r := range rej {
		if r.Result.Code == dsync.CodeValidation && strings.Contains(string(r.Result.Details), "parent_unknown") {
			refused[r.Change.Record] = true
		}
	}
	if !refused[orphan] || !refused[elsewhere] || len(rej) != 2 {
		t.Fatalf("contacts without a registration in their district must be refused: %+v", rej)
	}
}

// A coordinator's decision reaches the registrar whose edit was not applied:
// the decided value with the pull, the decision on the device's conflict.
func TestE2E_CoordinatorDecisionReachesDevice(t *testing.T) {
	s := startServer(t)
	s.addUser(t, "li", store.RoleRegistrar, "430102001001")
	s.addUser(t, "wang", store.RoleRegistrar, "430102001001")
	a, b := s.device(t, "li", s.URL(), sdk.Options{}), s.device(t, "wang", s.URL(), sdk.Options{})
	id, err := a.Create(model.TypeRegistration, "430102001001", registration(31))
	must(t, err)
	mustSync(t, a)
	mustSync(t, b)
	must(t, a.Update(id, map[string]json.RawMessage{"voter_group": str("第1选民小组")}))
	must(t, b.Update(id, map[string]json.RawMessage{"voter_group": str("第2选民小组")}))
	mustSync(t, a)
	mustSync(t, b)
	cs, _ := b.Conflicts()
	if len(cs) != 1 || cs[0].Status != dsync.ConflictOpen {
		t.Fatalf("b's edit must be held as an open conflict: %+v", cs)
	}

	if _, err := store.ResolveConflict(ctx, s.st, store.Resolve{Conflict: cs[0].ID, Choice: store.ChoiceOther, By: "coordinator"}); err != nil {
		t.Fatal(err)
	}
	rep := mustSync(t, b)
	if rep.Resolved != 1 {
		t.Fatalf("report: %+v", rep)
	}
	cs, _ = b.Conflicts()
	if cs[0].Status != dsync.ConflictResolved || cs[0].Resolution.Choice != store.ChoiceOther {
		t.Fatalf("decision on the device: %+v", cs[0])
	}
	rec, _ := b.Get(id)
	if got := string(rec.Fields["voter_group"].Value); got != `"第2选民小组"` {
		t.Fatalf("the decided value must reach the device, got %s", got)
	}
}
