package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// testPullPagesBoundedInBytes: a page stops at its byte budget, with More
// set, holds at least one record however large, and the pages together are
// the whole feed in order.
func testPullPagesBoundedInBytes(t *testing.T, s store.Store) {
	a := &dev{id: "A"}
	var chs []dsync.Change
	for i := range 12 {
		chs = append(chs, a.change(dsync.OpCreate, nil, fmt.Sprintf("r%02d", i), "d1",
			map[string]string{"name": fmt.Sprintf(`"%s%02d"`, strings.Repeat("名", 60), i)}))
	}
	push(t, s, a, chs...)
	one := len(pageOf(t, s, 0, 1, 1<<20).Records[0])
	for _, budget := range []int{1, one, 3*one + 100, 1 << 20} {
		t.Run(fmt.Sprint(budget), func(t *testing.T) {
			var ids []string
			cursor, pages := uint64(0), 0
			for {
				page := pageOf(t, s, cursor, 0, budget)
				pages++
				size := 0
				for _, r := range page.Records {
					size += len(r)
				}
				if len(page.Records) == 0 || (len(page.Records) > 1 && size > budget) {
					t.Fatalf("page of %d records, %d bytes, budget %d", len(page.Records), size, budget)
				}
				recs, err := page.Decode()
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range recs {
					ids = append(ids, r.ID)
				}
				cursor = page.Cursor
				if !page.More {
					break
				}
				if pages > 20 {
					t.Fatal("the pages never end")
				}
			}
			want := []string{"r00", "r01", "r02", "r03", "r04", "r05", "r06", "r07", "r08", "r09", "r10", "r11"}
			if !slices.Equal(ids, want) {
				t.Errorf("pages read %v", ids)
			}
			if wantPages := (12 + max(budget/one, 1) - 1) / max(budget/one, 1); pages != wantPages {
				t.Errorf("%d pages, want %d", pages, wantPages)
			}
		})
	}
}

func pageOf(t *testing.T, s store.Store, cursor uint64, limit, budget int) *store.Page {
	t.Helper()
	page, err := store.PullBytes(ctx, s, []string{"d1"}, cursor, limit, budget)
	if err != nil {
		t.Fatal(err)
	}
	return page
}

// testContractCheck: records stored without validation that break the
// record contract are reported by ID, district, field and code; the good
// ones are not.
func testContractCheck(t *testing.T, s store.Store) {
	a := &dev{id: "A"}
	push(t, s, a,
		a.change(dsync.OpCreate, nil, "good", "430102001001", map[string]string{"name": `"李碧辉"`}),
		a.change(dsync.OpCreate, nil, "nul", "430102001001", map[string]string{"name": `"李\u0000碧辉"`}),
		a.change(dsync.OpCreate, nil, "deep", "430102001002", map[string]string{"name": `"x"`,
			"junk": strings.Repeat("[", 9999) + strings.Repeat("]", 9999)}))
	rep, err := store.CheckContract(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, is := range rep.Issues {
		got = append(got, is.Record+" "+is.District+" "+is.Field+" "+is.Code)
	}
	slices.Sort(got)
	want := []string{"deep 430102001002 junk " + model.CodeUnknownField, "nul 430102001001 name " + model.CodeControlChar}
	if rep.Records != 3 || rep.Bad != 2 || !slices.Equal(got, want) {
		t.Errorf("report %d records, %d bad, %q; want %q", rep.Records, rep.Bad, got, want)
	}
}
