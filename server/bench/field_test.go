package bench

import (
	"context"
	"testing"
	"time"
)

// The field benchmark's machinery at a small size over a fast link, the
// device in this process: every record arrives, every push is applied, the
// conflicts raised are held, and the syncs it times make the requests they
// should. Timing is not asserted; `dengji bench field` reports it.
func TestField_Small(t *testing.T) {
	link := LinkProfile{Name: "3g", RTT: 2 * time.Millisecond, Down: 50 << 20, Up: 50 << 20}
	f, err := Field(context.Background(), FieldConfig{Bootstrap: 300, Push: 40, Links: []LinkProfile{link},
		Dir: t.TempDir(), Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	lf := f.ThreeG
	t.Logf("%+v", lf)
	if lf == nil || lf.BootstrapRecords != 300 || lf.PushRecords != 40 || lf.SmallSyncRoundTrips != 1 {
		t.Fatalf("figures: %+v", lf)
	}
	// With nothing changed, the open conflicts are not asked about; an
	// expired token is refreshed before the sync, not after a refusal.
	if lf.ConflictSyncOpen != 80 || lf.ConflictSyncRequests != 1 || lf.ConflictSyncBytes <= 0 || lf.ExpiredSyncRequests != 2 {
		t.Fatalf("conflict and expired-token syncs: %+v", lf)
	}
	if f.DeviceFileBytesPerRecord <= 0 || f.ListRSSMB <= 0 || f.BootstrapRSSMB <= 0 || !f.RSSInProcess {
		t.Fatalf("device figures: %+v", f)
	}
}
