package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// testNotices: notices are numbered in put order, a put again renumbers
// the notice (a device above its old number sees it again) and moves it
// between districts; pages read by district and from a cursor, with more
// set when the limit cut them.
func testNotices(t *testing.T, s store.Store) {
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	put := func(id, district string) uint64 {
		t.Helper()
		n := &dsync.Notice{ID: id, Record: "r-" + id, District: district, Case: "dup-1", Strength: "auto",
			Status: "open", Elsewhere: []dsync.NoticePlace{{District: "430102001002", Name: "水塘垸村"}},
			Message: "可能已在水塘垸村登记", Created: at, Updated: at}
		err := s.Update(ctx, func(tx store.Tx) error { return tx.PutNotice(n) })
		if err != nil {
			t.Fatal(err)
		}
		return n.Seq
	}
	read := func(districts []string, after uint64, limit int) ([]string, bool) {
		t.Helper()
		var ids []string
		var more bool
		err := s.View(ctx, func(tx store.Tx) error {
			ns, m, err := tx.Notices(districts, after, limit)
			for _, n := range ns {
				ids = append(ids, fmt.Sprintf("%s@%d", n.ID, n.Seq))
			}
			more = m
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return ids, more
	}
	if ids, more := read(nil, 0, 10); len(ids) != 0 || more {
		t.Fatalf("empty store: %v %v", ids, more)
	}
	a := put("a", "430102001001")
	b := put("b", "430102001003")
	c := put("c", "430102001001")
	if !(a < b && b < c) {
		t.Fatalf("numbers not in put order: %d %d %d", a, b, c)
	}
	if ids, more := read(nil, 0, 2); !slices.Equal(ids, []string{fmt.Sprint("a@", a), fmt.Sprint("b@", b)}) || !more {
		t.Errorf("all, limit 2: %v more=%v", ids, more)
	}
	if ids, more := read([]string{"430102001001"}, a, 10); !slices.Equal(ids, []string{fmt.Sprint("c@", c)}) || more {
		t.Errorf("district after a: %v more=%v", ids, more)
	}
	if ids, more := read([]string{"430102001003", "430102001001", "430102001001"}, 0, 2); !slices.Equal(ids,
		[]string{fmt.Sprint("a@", a), fmt.Sprint("b@", b)}) || !more {
		t.Errorf("two districts, limit 2: %v more=%v", ids, more)
	}
	// Put again, into another district: renumbered, and gone from the old one.
	a2 := put("a", "430102001003")
	if a2 <= c {
		t.Fatalf("put again: number %d, not above %d", a2, c)
	}
	if ids, _ := read([]string{"430102001001"}, 0, 10); !slices.Equal(ids, []string{fmt.Sprint("c@", c)}) {
		t.Errorf("old district after the move: %v", ids)
	}
	if ids, _ := read(nil, c, 10); !slices.Equal(ids, []string{fmt.Sprint("a@", a2)}) {
		t.Errorf("all after c: %v", ids)
	}
	err := s.View(ctx, func(tx store.Tx) error {
		n, err := tx.Notice("a")
		if err != nil {
			return err
		}
		if n.Seq != a2 || n.District != "430102001003" || n.Message != "可能已在水塘垸村登记" || !n.Created.Equal(at) ||
			len(n.Elsewhere) != 1 || n.Elsewhere[0].Name != "水塘垸村" {
			return fmt.Errorf("read back: %+v", n)
		}
		if _, err := tx.Notice("nope"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("missing notice: %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
