package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/dengji/dengji/server/audit"
	"github.com/dengji/dengji/server/store"
)

// testAudit: entries append in sequence, read back in order and by page
// exactly as written (they verify), out-of-sequence appends are refused and
// a failed transaction takes its entry with it.
func testAudit(t *testing.T, s store.Store) {
	err := s.View(ctx, func(tx store.Tx) error {
		last, err := tx.LastAudit()
		if err != nil || last != nil {
			return fmt.Errorf("empty log: last %+v, %v", last, err)
		}
		es, err := tx.AuditEntries(0, 10)
		if err != nil || len(es) != 0 {
			return fmt.Errorf("empty log: %d entries, %v", len(es), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	actx := audit.WithActor(ctx, audit.Actor{User: "wang", Device: "phone-1"})
	for i := range 25 {
		err := s.Update(ctx, func(tx store.Tx) error {
			return audit.Append(actx, tx, audit.DeviceRevoked, fmt.Sprintf("dev-%02d", i),
				audit.D{"n": i, "note": "<&> 中文", "big": uint64(1) << 60})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	boom := errors.New("boom")
	err = s.Update(ctx, func(tx store.Tx) error {
		if err := audit.Append(actx, tx, audit.UserDisabled, "ghost", nil); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("failed update: %v", err)
	}
	err = s.Update(ctx, func(tx store.Tx) error {
		for _, seq := range []uint64{0, 25, 27} {
			e := audit.Entry{Seq: seq, Action: audit.Import}
			if err := tx.AppendAudit(&e); !errors.Is(err, store.ErrAuditSeq) {
				return fmt.Errorf("append seq %d after 25: %v, want ErrAuditSeq", seq, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx store.Tx) error {
		var got []audit.Entry
		for after := uint64(0); ; {
			page, err := tx.AuditEntries(after, 10)
			if err != nil {
				return err
			}
			if len(page) == 0 {
				break
			}
			if len(page) > 10 {
				return fmt.Errorf("page of %d entries, limit 10", len(page))
			}
			got = append(got, page...)
			after = page[len(page)-1].Seq
		}
		if len(got) != 25 {
			return fmt.Errorf("%d entries, want 25 (the failed update's must be gone)", len(got))
		}
		for i, e := range got {
			if e.Seq != uint64(i+1) || e.Target != fmt.Sprintf("dev-%02d", i) || e.Actor != "wang" || e.Device != "phone-1" {
				return fmt.Errorf("entry %d: %+v", i, e)
			}
		}
		all, err := tx.AuditEntries(20, 0)
		if err != nil || len(all) != 5 || all[0].Seq != 21 {
			return fmt.Errorf("entries after 20, no limit: %d, %v", len(all), err)
		}
		last, err := tx.LastAudit()
		if err != nil || last == nil || last.Seq != 25 || last.Hash != got[24].Hash {
			return fmt.Errorf("last: %+v, %v", last, err)
		}
		res, err := audit.Verify(ctx, tx)
		if err != nil {
			return err
		}
		if res.Broken != nil || res.Entries != 25 || res.Head != last.Hash {
			return fmt.Errorf("verify: %+v %+v", res, res.Broken)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
