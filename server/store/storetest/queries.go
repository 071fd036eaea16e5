package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// testConflictsPageAcrossDistricts: conflicts of several districts page
// in ID order, whatever district holds them (c5, c9 in d1 and c3, c7 in d2
// page as c3 c5, c7 c9: read district by district, the second page was lost).
func testConflictsPageAcrossDistricts(t *testing.T, s store.Store) {
	err := s.Update(ctx, func(tx store.Tx) error {
		for _, c := range []struct{ id, district, status string }{
			{"c5", "d1", "open"}, {"c9", "d1", "open"}, {"c3", "d2", "open"}, {"c7", "d2", "open"},
			{"c4", "d1", "resolved"}, {"c6", "d3", "open"},
		} {
			if err := tx.PutConflict(&dsync.Conflict{ID: c.id, District: c.district, Record: "r-" + c.id,
				Field: "name", Status: dsync.ConflictStatus(c.status)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	pages := func(q store.ConflictQuery) string {
		t.Helper()
		var out []string
		for range 10 {
			var cs []dsync.Conflict
			if err := s.View(ctx, func(tx store.Tx) error {
				var err error
				cs, err = tx.Conflicts(q)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if len(cs) == 0 {
				break
			}
			var ids []string
			for _, c := range cs {
				ids = append(ids, c.ID)
			}
			out = append(out, strings.Join(ids, " "))
			q.After = cs[len(cs)-1].ID
		}
		return strings.Join(out, " | ")
	}
	for _, tc := range []struct {
		q    store.ConflictQuery
		want string
	}{
		{store.ConflictQuery{Districts: []string{"d1", "d2"}, Status: dsync.ConflictOpen, Limit: 2}, "c3 c5 | c7 c9"},
		{store.ConflictQuery{Districts: []string{"d2", "d1", "d2"}, Limit: 2}, "c3 c4 | c5 c7 | c9"},
		{store.ConflictQuery{Status: dsync.ConflictOpen, Limit: 2}, "c3 c5 | c6 c7 | c9"},
		{store.ConflictQuery{Districts: []string{"d1"}}, "c4 c5 c9"},
		{store.ConflictQuery{Districts: []string{}}, ""},
		{store.ConflictQuery{Status: dsync.ConflictResolved}, "c4"},
	} {
		if got := pages(tc.q); got != tc.want {
			t.Errorf("Conflicts(%+v) pages %q, want %q", tc.q, got, tc.want)
		}
	}
}

// testListsInOrder: every list comes back in its documented order, keys
// compared as bytes, whatever order they were written in.
func testListsInOrder(t *testing.T, s store.Store) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	names := []string{"wang", "li", "Zhao", "李", "li2"} // bytes: Zhao li li2 wang 李
	err := s.Update(ctx, func(tx store.Tx) error {
		for i, n := range names {
			if err := tx.PutUser(&store.User{Name: n, Role: store.RoleRegistrar, Created: now}); err != nil {
				return err
			}
			if err := tx.PutDevice(&store.Device{ID: "dev-" + n, User: n, Enrolled: now.Add(time.Duration(i))}); err != nil {
				return err
			}
			code := fmt.Sprintf("43010200%d00%d", 3-i%3, i)
			if err := tx.PutDistrict(&model.District{Code: code, Name: n, Kind: "village"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	a := &dev{id: "A"}
	for _, id := range []string{"r3", "r1", "r10", "r2"} {
		push(t, s, a, a.change(dsync.OpCreate, nil, id, "d1", map[string]string{"name": `"x"`}))
	}
	s.View(ctx, func(tx store.Tx) error {
		us, _ := tx.Users()
		ds, _ := tx.Devices()
		dists, _ := tx.Districts()
		var got []string
		for _, u := range us {
			got = append(got, u.Name)
		}
		for _, d := range ds {
			got = append(got, d.ID)
			if d.User == "li" && !d.Enrolled.Equal(now.Add(1)) {
				t.Errorf("device time %v, want %v to the microsecond", d.Enrolled, now.Add(1))
			}
		}
		for _, d := range dists {
			got = append(got, d.Code)
		}
		tx.ForEachRecord("", func(r *dsync.Record) error { got = append(got, r.ID); return nil })
		want := "Zhao li li2 wang 李 dev-Zhao dev-li dev-li2 dev-wang dev-李 " +
			"430102001002 430102002001 430102002004 430102003000 430102003003 r1 r10 r2 r3"
		if g := strings.Join(got, " "); g != want {
			t.Errorf("lists read\n%s\nwant\n%s", g, want)
		}
		return nil
	})
}

// testValuesByteExact: what was stored comes back byte for byte: record
// values with escapes, spacing and key order a re-encoding would change,
// in the pull's raw page, Record, ChangeBySeq; settings holding any bytes;
// refs in any script.
func testValuesByteExact(t *testing.T, s store.Store) {
	odd := map[string]string{
		"name":    `"\u5f20\u4f1f \/ \"q\""`,
		"address": `"a\tb"`,
		"note":    `{"z":1,"a":[1.50,  2e3],"z":2}`,
	}
	a := &dev{id: "A"}
	rs := push(t, s, a, a.change(dsync.OpCreate, nil, "r1", "d1", odd))
	rec := record(t, s, "r1")
	_, page := pull(t, s, []string{"d1"}, 0, 10)
	if len(page.Records) != 1 {
		t.Fatalf("pull gave %d records", len(page.Records))
	}
	var logged *dsync.Change
	s.View(ctx, func(tx store.Tx) error { logged, _ = tx.ChangeBySeq(rs[0].Seq); return nil })
	for k, v := range odd {
		if string(rec.Fields[k].Value) != v || logged == nil || string(logged.Set[k]) != v {
			t.Errorf("field %s: record %s, change log %v; want %s", k, rec.Fields[k].Value, logged, v)
		}
		var f struct {
			Fields map[string]json.RawMessage `json:"fields"`
		}
		json.Unmarshal(page.Records[0], &f)
		if !strings.Contains(string(f.Fields[k]), v) {
			t.Errorf("field %s in the pulled page: %s", k, f.Fields[k])
		}
	}
	binary := []byte{0, 0xff, '{', 0xfe, '"', 0}
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.PutSetting("bin", binary); err != nil {
			return err
		}
		if err := tx.PutSetting("empty", []byte{}); err != nil {
			return err
		}
		return tx.PutRef("registration:张-ext 1", "r1")
	})
	if err != nil {
		t.Fatal(err)
	}
	s.View(ctx, func(tx store.Tx) error {
		if v, err := tx.Setting("bin"); err != nil || string(v) != string(binary) {
			t.Errorf("setting %q %v", v, err)
		}
		if v, err := tx.Setting("empty"); err != nil || len(v) != 0 {
			t.Errorf("empty setting %q %v", v, err)
		}
		if id, err := tx.Ref("registration:张-ext 1"); err != nil || id != "r1" {
			t.Errorf("ref %q %v", id, err)
		}
		return nil
	})
}

// testDeletes: deleting a refresh token, a session or a setting removes
// that one only; deleting what is not there is no error.
func testDeletes(t *testing.T, s store.Store) {
	now := time.Now().UTC().Truncate(time.Second)
	err := s.Update(ctx, func(tx store.Tx) error {
		for _, h := range []string{"h1", "h2"} {
			if err := tx.PutRefreshToken(&store.RefreshToken{Hash: h, User: "li", Device: "dev1", Expires: now}); err != nil {
				return err
			}
		}
		return tx.DeleteRefreshToken("h1")
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(ctx, func(tx store.Tx) error {
		for _, err := range []error{tx.DeleteRefreshToken("none"), tx.DeleteRefreshFamily("none"),
			tx.DeleteSetting("none"), tx.DeleteDupCase("none"), tx.DeleteRefreshTokens("no-device"),
			tx.DeleteUserRefreshTokens("nobody", "")} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("deleting what is not there: %v", err)
	}
	s.View(ctx, func(tx store.Tx) error {
		if _, err := tx.RefreshToken("h1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted token: %v", err)
		}
		if got, err := tx.RefreshToken("h2"); err != nil || got.Device != "dev1" || !got.Expires.Equal(now) {
			t.Errorf("the other token: %+v %v", got, err)
		}
		return nil
	})
}
