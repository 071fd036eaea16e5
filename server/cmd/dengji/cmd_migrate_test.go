package main

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore"
	"github.com/dengji/dengji/server/store/pgstore"
	"github.com/dengji/dengji/server/store/pgstore/pgtest"
	dsync "github.com/dengji/dengji/sync"
)

// TestMigrate_RoundTrip copies a county's bbolt store into PostgreSQL and
// back into a new bbolt directory: the content is identical (counts and
// hashes of every kind), and both copies serve what the original does
// through their rebuilt indexes.
func TestMigrate_RoundTrip(t *testing.T) {
	ctx := context.Background()
	src, back, pg := t.TempDir(), t.TempDir(), pgtest.URL(t)
	if _, err := runCLI(t, "user", "add", "wang", "--role", "coordinator", "--districts", "430102001", "--store", src); err != nil {
		t.Fatal(err)
	}
	fillCounty(t, src)
	if out, err := runCLI(t, "migrate", "--from", src, "--to", pg); err != nil || !strings.Contains(out, "records   ") {
		t.Fatalf("bbolt → PostgreSQL: %v\n%s", err, out)
	}
	if _, err := runCLI(t, "migrate", "--from", src, "--to", pg); err == nil || !strings.Contains(err.Error(), "已有数据") {
		t.Fatalf("into a store holding data: %v", err)
	}
	out, err := runCLI(t, "migrate", "--from", pg, "--to", back, "--batch", "7", "--json")
	if err != nil {
		t.Fatalf("PostgreSQL → bbolt: %v", err)
	}
	var viaPG map[string]store.KindDigest
	if err := json.Unmarshal([]byte(out), &viaPG); err != nil {
		t.Fatal(err)
	}
	digest := func(dir string) map[string]store.KindDigest {
		st, err := boltstore.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		d, err := store.Digest(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	first, last := digest(src), digest(back)
	if !reflect.DeepEqual(first, last) || !reflect.DeepEqual(first, viaPG) {
		t.Fatalf("round trip changed the content:\n%v\n%v", first, last)
	}
	if first["records"].Entries != 41 || first["conflicts"].Entries != 1 || first["audit"].Entries == 0 ||
		first["dup_cases"].Entries != 1 || first["results"].Entries != 43 || first["notices"].Entries != 2 {
		t.Fatalf("the county was not filled as meant: %v", first)
	}
	bolt, err := boltstore.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer bolt.Close()
	ps, err := pgstore.Open(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	backStore, err := boltstore.Open(back)
	if err != nil {
		t.Fatal(err)
	}
	defer backStore.Close()
	want := served(t, bolt)
	for name, st := range map[string]store.Store{"the PostgreSQL copy": ps, "the copy back in bbolt": backStore} {
		if got := served(t, st); got != want {
			t.Errorf("%s serves\n%s\nthe bbolt store\n%s", name, got, want)
		}
	}
}

// fillCounty stores a little of every kind in the bbolt store in dir.
func fillCounty(t *testing.T, dir string) {
	ctx := context.Background()
	st, err := boltstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var chs []dsync.Change
	for i := range 40 {
		chs = append(chs, dsync.Change{ID: fmt.Sprintf("c%03d", i), Device: "A", Counter: uint64(i + 1),
			Record: fmt.Sprintf("r%03d", i), Type: "registration", District: fmt.Sprintf("43010200100%d", i%3),
			Op: dsync.OpCreate, Set: map[string]json.RawMessage{"name": json.RawMessage(fmt.Sprintf(`"名\u5b57%d"`, i))}})
	}
	chs = append(chs, dsync.Change{ID: "c-del", Device: "A", Counter: 41, Record: "r-del", Type: "registration",
		District: "430102001000", Op: dsync.OpCreate, Set: map[string]json.RawMessage{"name": json.RawMessage(`"x"`)}})
	if _, err := store.Push(ctx, st, store.PushRequest{Device: "A", Author: "li", Changes: chs}); err != nil {
		t.Fatal(err)
	}
	// B edits r000's name from the same base as A: a conflict.
	for _, d := range []string{"A", "B"} {
		n := map[string]uint64{"A": 42, "B": 1}[d]
		_, err := store.Push(ctx, st, store.PushRequest{Device: d, Author: d, Changes: []dsync.Change{{
			ID: "e-" + d, Device: d, Counter: n, Record: "r000", Type: "registration", District: "430102001000",
			Op: dsync.OpUpdate, Base: map[string]string{"name": "c000", dsync.FieldDeleted: ""},
			Set: map[string]json.RawMessage{"name": json.RawMessage(`"` + d + `"`)}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC()
	err = st.Update(ctx, func(tx store.Tx) error {
		for _, err := range []error{
			tx.PutRef("registration:ext-1", "r001"),
			tx.PutSetting("election", []byte{0, 1, 0xff}),
			tx.PutDevice(&store.Device{ID: "phone-1", User: "wang", Enrolled: now}),
			tx.PutRefreshFamily(&store.RefreshToken{Family: "f1", Hash: "h1", User: "wang", Device: "phone-1", Expires: now}),
			tx.PutRefreshToken(&store.RefreshToken{Hash: "h0", User: "wang", Device: "phone-1", Expires: now}),
			tx.PutNotice(&dsync.Notice{ID: "n1", Record: "r001", District: "430102001001", Case: "dup-1", Status: "open", Created: now}),
			tx.PutNotice(&dsync.Notice{ID: "n0", Record: "r002", District: "430102001002", Case: "dup-1", Status: "open", Created: now}),
			tx.PutDupCase(&store.DupCase{ID: "dup-1", Status: store.DupOpen, Found: now, Evidence: json.RawMessage(`[{"a":1}]`),
				Members: []store.DupMember{{Record: "r001", District: "430102001001"}, {Record: "r002", District: "430102001002"}}}),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// served describes what a store answers through its indexes (a
// district's pull, the feed's districts, conflicts and cases by district,
// a record's history, notices by district) and the number a new notice
// takes after the copied ones.
func served(t *testing.T, st store.Store) string {
	ctx := context.Background()
	var b strings.Builder
	page, err := store.Pull(ctx, st, []string{"430102001001", "430102001000"}, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	b.Write(page.AppendJSON(nil))
	err = st.Update(ctx, func(tx store.Tx) error {
		ds, err := tx.FeedDistricts("430102")
		fmt.Fprintln(&b, ds, err)
		cs, err := tx.Conflicts(store.ConflictQuery{Districts: []string{"430102001000"}})
		fmt.Fprintln(&b, len(cs), err)
		dups, err := tx.DupCases(store.DupCaseQuery{Districts: []string{"430102001002"}})
		fmt.Fprintln(&b, len(dups), err)
		high, err := tx.HighSeq()
		fmt.Fprintln(&b, high, err)
		hist, err := tx.RecordChanges("r000")
		fmt.Fprintln(&b, hist, err)
		ns, more, err := tx.Notices([]string{"430102001001", "430102001002"}, 0, 10)
		for _, n := range ns {
			fmt.Fprint(&b, n.ID, n.Seq, " ")
		}
		fmt.Fprintln(&b, more, err)
		err = tx.PutNotice(&dsync.Notice{ID: "n2", District: "430102001001"}) // numbered after the copied ones
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = st.View(ctx, func(tx store.Tx) error {
		n, err := tx.Notice("n2")
		if err == nil {
			fmt.Fprintln(&b, n.Seq)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
