package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	sdk "github.com/dengji/dengji/client-sdk"
	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/store"
)

// A device file restored from a copy taken before the device created and
// pushed a record gets that record back at its next sync, whether or not
// it edits first (found by server/chaos: pulls left the device's own
// changes out as if the file still held them).
func TestE2E_DeviceFileRestoredGetsItsOwnChangesBack(t *testing.T) {
	for _, editFirst := range []bool{false, true} {
		t.Run(fmt.Sprint("edit_first=", editFirst), func(t *testing.T) {
			s := startServer(t)
			s.addUser(t, "li", store.RoleRegistrar, "430102001001")
			path := filepath.Join(t.TempDir(), "li.db")
			open := func() *sdk.Device {
				d, err := sdk.Open(path, sdk.Options{ServerURL: s.deviceURL(), BackoffBase: time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				return d
			}
			copyFile := func(from, to string) {
				b, err := os.ReadFile(from)
				if err == nil {
					err = os.WriteFile(to, b, 0o600)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			d := open()
			if err := d.Login(ctx, "li", "li-password"); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Create(model.TypeRegistration, "430102001001", registration(3)); err != nil {
				t.Fatal(err)
			}
			mustSync(t, d)
			d.Close()
			copyFile(path, path+".bak")

			d = open()
			id, err := d.Create(model.TypeRegistration, "430102001001", registration(1))
			if err != nil {
				t.Fatal(err)
			}
			mustSync(t, d)
			d.Close()
			copyFile(path+".bak", path)

			d = open()
			defer d.Close()
			if editFirst {
				if _, err := d.Create(model.TypeRegistration, "430102001001", registration(2)); err != nil {
					t.Fatal(err)
				}
			}
			mustSync(t, d)
			if _, err := d.Get(id); err != nil {
				t.Fatalf("the record the device created before its file was restored: %v", err)
			}
			if n := len(deviceStates(t, d)); n != 2+map[bool]int{true: 1}[editFirst] {
				t.Fatalf("device holds %d records", n)
			}
		})
	}
}
