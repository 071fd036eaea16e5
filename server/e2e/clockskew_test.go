package e2e

import (
	"encoding/json"
	"testing"
	"time"

	sdk "github.com/dengji/dengji/client-sdk"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// A device whose clock runs three days ahead has its push refused with
// clock_skew, sets its clock by the server's, stamps its outbox again and
// syncs: nothing lost, every timestamp within a moment of the server's time,
// in the order the edits were made (issue #9, defect 9).
func TestE2E_ClockAheadCorrected(t *testing.T) {
	s := startServer(t)
	s.addUser(t, "li", store.RoleRegistrar, "430102001001")
	ahead := func() time.Time { return time.Now().Add(72 * time.Hour) }
	d := s.device(t, "li", s.URL(), sdk.Options{Now: ahead})
	var ids []string
	for i := range 5 {
		id, err := d.Create("registration", "430102001001", registration(uint64(i+1)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := d.Update(ids[0], map[string]json.RawMessage{"phone": str("13912345678")}); err != nil {
		t.Fatal(err)
	}
	rep := mustSync(t, d)
	if rep.Pushed[dsync.StatusApplied] != len(ids)+1 || rep.Rejections != 0 {
		t.Fatalf("sync: %+v", rep)
	}
	if n, _ := d.Pending(); n != 0 {
		t.Fatalf("%d changes left in the outbox", n)
	}
	if got := s.record(t, ids[0]).Values()["phone"]; string(got) != `"13912345678"` {
		t.Fatalf("the update: %s", got)
	}
	var last dsync.HLC
	for _, id := range ids {
		rec := s.record(t, id)
		w := rec.Writers[rec.Version("name")]
		if w.HLC.Ahead(time.Now(), time.Minute) || w.HLC <= last {
			t.Fatalf("record %s stamped %s (after %s)", id, w.HLC, last)
		}
		last = w.HLC
	}
	// The corrected clock stamps the next edit right at once.
	if _, err := d.Create("registration", "430102001001", registration(99)); err != nil {
		t.Fatal(err)
	}
	if rep := mustSync(t, d); rep.Pushed[dsync.StatusApplied] != 1 {
		t.Fatalf("the next sync: %+v", rep)
	}
}
