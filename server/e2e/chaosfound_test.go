package e2e

import (
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
