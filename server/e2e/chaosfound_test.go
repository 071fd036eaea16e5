package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	sdk "github.com/dengji/dengji/client-sdk"
	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/store"
)

// Found by the chaos harness (server/chaos): a device whose first pull had
// not completed when another registrar deleted its record pulled from
// cursor 0, which left tombstones out, and kept the record live for good.
func TestE2E_FirstPullCarriesTombstoneOfOwnRecord(t *testing.T) {
	s := startServer(t)
	s.addUser(t, "li", store.RoleRegistrar, "430102001001")
	s.addUser(t, "wang", store.RoleRegistrar, "430102001001")
	a, b := s.device(t, "li", s.URL(), sdk.Options{}), s.device(t, "wang", s.URL(), sdk.Options{})
	id, err := a.Create(model.TypeRegistration, "430102001001", registration(1))
	must(t, err)
	if _, err := a.Push(ctx); err != nil { // pushed; the pull that would follow never happens
		t.Fatal(err)
	}
	mustSync(t, b)
	must(t, b.Delete(id))
	mustSync(t, b)

	mustSync(t, a)
	if r, err := a.Get(id); err != nil || !r.Deleted() {
		t.Fatalf("the record deleted on the server is still live on the device that created it: %v", err)
	}
}

// Found by the chaos harness (server/chaos): a device restored from a copy
// of its file taken before it pushed a create was never sent that record
// again, since the server leaves out a device's own changes it folded in.
// Restored, it gets its own records back, whether it makes new edits (its
// counters reused, numbered again) or not.
func TestE2E_RestoredDeviceGetsItsOwnRecordsBack(t *testing.T) {
	for _, editAfter := range []bool{false, true} {
		t.Run(map[bool]string{false: "NoEditAfter", true: "EditAfter"}[editAfter], func(t *testing.T) {
			s := startServer(t)
			s.addUser(t, "li", store.RoleRegistrar, "430102001001")
			path := filepath.Join(s.dir, "phone.db")
			open := func() *sdk.Device {
				d, err := sdk.Open(path, sdk.Options{ServerURL: s.deviceURL(), BackoffBase: 1})
				must(t, err)
				return d
			}
			d := open()
			must(t, d.Login(ctx, "li", "li-password"))
			mustSync(t, d)
			must(t, d.Close())
			copyDeviceFile(t, path, path+".backup")

			d = open()
			id, err := d.Create(model.TypeRegistration, "430102001001", registration(1))
			must(t, err)
			mustSync(t, d)
			must(t, d.Close())

			copyDeviceFile(t, path+".backup", path)
			d = open()
			defer d.Close()
			if editAfter {
				_, err := d.Create(model.TypeRegistration, "430102001001", registration(2))
				must(t, err)
			}
			mustSync(t, d)
			mustSync(t, d)
			if _, err := d.Get(id); err != nil {
				t.Fatalf("the restored device does not hold the record it created before: %v", err)
			}
		})
	}
}

// Found the same way (seed 316): restored, the device edits a record whose
// last state on the server is its own edit made after the copy. That state
// was taken as one the device held, so the new edit was marked folded and
// the device never got the fields of the edit it lost.
func TestE2E_RestoredDeviceEditsOverItsLostEdit(t *testing.T) {
	s := startServer(t)
	s.addUser(t, "li", store.RoleRegistrar, "430102001001")
	path := filepath.Join(s.dir, "phone.db")
	open := func() *sdk.Device {
		d, err := sdk.Open(path, sdk.Options{ServerURL: s.deviceURL(), BackoffBase: 1})
		must(t, err)
		return d
	}
	d := open()
	must(t, d.Login(ctx, "li", "li-password"))
	id, err := d.Create(model.TypeRegistration, "430102001001", registration(1))
	must(t, err)
	must(t, d.Close())
	copyDeviceFile(t, path, path+".backup")

	d = open()
	must(t, d.Update(id, map[string]json.RawMessage{"phone": str("13900000001")}))
	mustSync(t, d)
	must(t, d.Close())

	copyDeviceFile(t, path+".backup", path)
	d = open()
	defer d.Close()
	must(t, d.Update(id, map[string]json.RawMessage{"voter_group": str("第9选民小组")}))
	mustSync(t, d)
	mustSync(t, d)
	rec, err := d.Get(id)
	must(t, err)
	if got, want := stateOf(rec), stateOf(s.record(t, id)); !got.equal(want) {
		t.Fatalf("the restored device diverged from the server:\n device %+v\n server %+v", got, want)
	}
}

// copyDeviceFile copies a closed device file, as a phone backup would.
func copyDeviceFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	must(t, err)
	must(t, os.WriteFile(to, b, 0o600))
}
