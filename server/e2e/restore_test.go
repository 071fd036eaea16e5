package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	sdk "github.com/dengji/dengji/client-sdk"
	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// A phone restored from a backup counts again from where the backup stood,
// under counters the server has already taken. What the backup still held is
// answered as duplicates, and what is typed after the restore reaches the
// server all the same, once, in the order it was made.
func TestE2E_DeviceRestoredFromBackup(t *testing.T) {
	s := startServer(t)
	s.addUser(t, "li", store.RoleRegistrar, "430102001001")
	path := filepath.Join(s.dir, "phone.db")
	open := func() *sdk.Device {
		// Batches of two: the renumbering crosses batches, with the next
		// batch already read under the old numbers.
		d, err := sdk.Open(path, sdk.Options{ServerURL: s.URL(), BatchSize: 2, BackoffBase: 1})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := open()
	must(t, d.Login(ctx, "li", "li-password"))
	var before []string
	create := func(d *sdk.Device, seed uint64) string {
		id, err := d.Create(model.TypeRegistration, "430102001001", registration(seed))
		must(t, err)
		return id
	}
	for seed := uint64(1); seed <= 3; seed++ {
		before = append(before, create(d, seed))
	}
	mustSync(t, d)
	before = append(before, create(d, 4)) // still in the outbox when the backup is taken

	must(t, d.Close())
	copyFile(t, path, path+".backup")
	d = open()
	for seed := uint64(5); seed <= 9; seed++ {
		before = append(before, create(d, seed))
	}
	mustSync(t, d)
	must(t, d.Close())

	copyFile(t, path+".backup", path) // the phone is lost; its backup goes onto a new one
	d = open()
	defer d.Close()
	var after []string
	for seed := uint64(10); seed <= 14; seed++ {
		after = append(after, create(d, seed))
	}
	must(t, d.Update(after[0], map[string]json.RawMessage{"voter_group": str("第9选民小组")}))

	rep := mustSync(t, d)
	if rep.Pushed[dsync.StatusDuplicate] != 1 || rep.Pushed[dsync.StatusApplied] != 6 || rep.Rejections != 0 {
		t.Fatalf("the backup's pending create is a duplicate, the six new changes apply: %+v", rep)
	}
	if n, _ := d.Pending(); n != 0 {
		t.Fatalf("%d changes left in the outbox", n)
	}
	if rs, _ := d.Rejected(); len(rs) != 0 {
		t.Fatalf("rejections: %+v", rs)
	}
	for i, id := range append(before, after...) {
		rec := s.record(t, id)
		if want := registration(uint64(i + 1))["ref"]; string(rec.Values()["ref"]) != string(want) {
			t.Fatalf("record %d: ref %s, want %s", i+1, rec.Values()["ref"], want)
		}
	}
	if got := string(s.record(t, after[0]).Values()["voter_group"]); got != `"第9选民小组"` {
		t.Fatalf("the update after the create must apply after it: voter_group %s", got)
	}
	// Counted on above the server's mark, the next edit goes straight through.
	create(d, 15)
	if rep := mustSync(t, d); rep.Pushed[dsync.StatusApplied] != 1 {
		t.Fatalf("after renumbering: %+v", rep)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
