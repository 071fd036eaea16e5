package bench

import (
	"context"
	"testing"
)

// The benchmark's machinery at a small size: every record arrives, the new
// device bootstraps them all, the concurrent devices make no error. Timing is
// not asserted; `dengji bench sync` reports it.
func TestSync_Small(t *testing.T) {
	f, err := Sync(context.Background(), Config{Records: 120, Bootstrap: 200, Devices: 4, PerDevice: 15, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if f.Errors != 0 || f.BootstrapRecords != 200 || f.ConcurrentRecords != 60 || f.PushRecordsPerS <= 0 {
		t.Fatalf("figures: %+v", f)
	}
	if f.AvgRecordBytes < 350 || f.AvgRecordBytes > 650 {
		t.Fatalf("records should be shaped like registrations (~500 bytes), are %d", f.AvgRecordBytes)
	}
}
