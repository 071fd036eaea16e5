package boltstore_test

import (
	"bytes"
	"context"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	gojson "github.com/dengji/dengji/internal/jsonx"
	bolt "go.etcd.io/bbolt"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/bench"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore"
	dsync "github.com/dengji/dengji/sync"
)

const contractDistrict = "430102001001"

var ctx = context.Background()

// FuzzRecordContract: a registration's field set is either refused by the
// model, or pushed into a real bbolt store, applied, and read back through
// every read path (Record, Feed, FeedRaw, ForEachRecord and the pull page's
// JSON) byte for byte, and value for value by encoding/json and goccy/go-json
// alike.
func FuzzRecordContract(f *testing.F) {
	for _, seed := range [][4]string{
		{"name", `"黄金"`, "voter_group", `"第一组"`},
		{"name", `"\u9ec4\ud842\udfb7 \u003c\/\u003e"`, "category_note", `"一\n二"`},
		{"name", `"黄\u0000金"`, "phone", `null`},
		{"name", "\"\x1b[31m黄金\"", "junk", strings.Repeat("[", 9999) + strings.Repeat("]", 9999)},
		{"name", "\"\xff\"", "household_address", `{"a":"b"}`},
		{"name", `"\ud800"`, "household_address", `"一` + "\u2028" + `二"`},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	s, err := boltstore.Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	n := uint64(0)
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		fields := map[string]stdjson.RawMessage{"name": stdjson.RawMessage(`"李碧辉"`), "birth_date": stdjson.RawMessage(`"1960-01-01"`)}
		for _, kv := range [][2]string{{k1, v1}, {k2, v2}} {
			if kv[1] == "" {
				delete(fields, kv[0]) // an empty message is an absent field
			} else {
				fields[kv[0]] = stdjson.RawMessage(kv[1])
			}
		}
		n++
		ch := dsync.Change{ID: fmt.Sprintf("c%d", n), Device: "dev", Counter: n, Record: fmt.Sprintf("r%d", n),
			Type: model.TypeRegistration, District: contractDistrict, Op: dsync.OpCreate, Set: fields}
		if ch.Validate() != nil {
			return // not a change at all: the sync layer refuses it before the model sees it
		}
		ok := model.Validate(model.TypeRegistration, contractDistrict, fields, model.Rules{}).OK()
		rs, err := store.Push(ctx, s, store.PushRequest{Device: "dev", Author: "li", Changes: []dsync.Change{ch},
			Validate: store.ModelValidator(model.Rules{})})
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			if rs[0].Status != dsync.StatusRejected || rs[0].Code != dsync.CodeValidation {
				t.Fatalf("the model refused %s, the push answered %+v", fields, rs[0])
			}
			return
		}
		if rs[0].Status != dsync.StatusApplied {
			t.Fatalf("the model accepted %s, the push answered %+v", fields, rs[0])
		}
		readBack(t, s, ch.Record, rs[0].Seq, fields)
	})
}

// readBack checks every read path returns the record's fields as pushed.
func readBack(t *testing.T, s store.Store, id string, seq uint64, want map[string]stdjson.RawMessage) {
	t.Helper()
	same := func(path string, got map[string]stdjson.RawMessage) {
		t.Helper()
		if !maps.EqualFunc(got, want, func(a, b stdjson.RawMessage) bool { return bytes.Equal(a, b) }) {
			t.Fatalf("%s read back %s, pushed %s", path, got, want)
		}
	}
	err := s.View(ctx, func(tx store.Tx) error {
		rec, err := tx.Record(id)
		if err != nil {
			return err
		}
		same("Record", rec.Values())
		recs, _, err := tx.Feed([]string{contractDistrict}, seq-1, 1)
		if err != nil || len(recs) != 1 || recs[0].ID != id {
			return fmt.Errorf("feed: %v %v", recs, err)
		}
		same("Feed", recs[0].Values())
		entries, _, err := tx.FeedRaw([]string{contractDistrict}, seq-1, 1)
		if err != nil || len(entries) != 1 {
			return fmt.Errorf("feed raw: %v %v", entries, err)
		}
		raw := entries[0].Record
		if !utf8.Valid(raw) || !stdjson.Valid(raw) {
			t.Fatalf("stored record is not valid UTF-8 JSON: %q", short(raw))
		}
		var std, goc dsync.Record
		if err := stdjson.Unmarshal(raw, &std); err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		if err := gojson.Unmarshal(raw, &goc); err != nil {
			t.Fatalf("goccy/go-json: %v", err)
		}
		same("FeedRaw/encoding/json", std.Values())
		same("FeedRaw/goccy", goc.Values())
		for k, v := range want {
			var a, b *string
			if err := stdjson.Unmarshal(v, &a); err != nil {
				t.Fatalf("%s: encoding/json: %v", k, err)
			}
			if err := gojson.Unmarshal(v, &b); err != nil {
				t.Fatalf("%s: goccy/go-json: %v", k, err)
			}
			if (a == nil) != (b == nil) || a != nil && *a != *b {
				t.Fatalf("%s: encoding/json reads %q, goccy/go-json %q", k, deref(a), deref(b))
			}
		}
		found := false
		err = tx.ForEachRecord(model.TypeRegistration, func(r *dsync.Record) error {
			if r.ID == id {
				found = true
				same("ForEachRecord", r.Values())
			}
			return nil
		})
		if err != nil || !found {
			return fmt.Errorf("for each record: found %v, %v", found, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	page, err := store.Pull(ctx, s, []string{contractDistrict}, seq-1, 1)
	if err != nil {
		t.Fatal(err)
	}
	body := page.AppendJSON(nil)
	var resp dsync.PullResponse
	if !utf8.Valid(body) || stdjson.Unmarshal(body, &resp) != nil || len(resp.Records) != 1 {
		t.Fatalf("pull page is not valid JSON for a strict client: %q", body)
	}
	same("Pull", resp.Records[0].Values())
}

// short cuts a value for a failure message.
func short(b []byte) []byte { return b[:min(len(b), 200)] }

func deref(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}

// TestRecord_WrittenBeforeTheContract: a record stored before the contract
// whose unknown field nests 9,999 arrays, deeper than goccy/go-json reads,
// is read by every read path, can be deleted, and is reported.
func TestRecord_WrittenBeforeTheContract(t *testing.T) {
	s, err := boltstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	deep := strings.Repeat("[", 9999) + strings.Repeat("]", 9999)
	ch := dsync.Change{ID: "c1", Device: "dev", Counter: 1, Record: "r1", Type: model.TypeRegistration,
		District: contractDistrict, Op: dsync.OpCreate,
		Set: map[string]stdjson.RawMessage{"name": stdjson.RawMessage(`"李碧辉"`), "junk": stdjson.RawMessage(deep)}}
	if rs, err := store.Push(ctx, s, store.PushRequest{Device: "dev", Changes: []dsync.Change{ch}}); err != nil || rs[0].Status != dsync.StatusApplied {
		t.Fatalf("push without validation: %v %v", rs, err)
	}
	var probe dsync.Record
	if gojson.Unmarshal([]byte(`{"fields":{"junk":{"v":`+deep+`}}}`), &probe) == nil {
		t.Log("goccy/go-json now reads 9,999 nested arrays; the fallback is not exercised")
	}
	err = s.View(ctx, func(tx store.Tx) error {
		rec, err := tx.Record("r1")
		if err != nil {
			return err
		}
		recs, _, err := tx.Feed(nil, 0, 10)
		if err != nil || len(recs) != 1 {
			return fmt.Errorf("feed: %d records, %v", len(recs), err)
		}
		n := 0
		if err := tx.ForEachRecord("", func(r *dsync.Record) error { n++; return nil }); err != nil || n != 1 {
			return fmt.Errorf("for each record: %d, %v", n, err)
		}
		for _, r := range []*dsync.Record{rec, &recs[0]} {
			if !bytes.Equal(r.Fields["junk"].Value, []byte(deep)) || string(r.Fields["name"].Value) != `"李碧辉"` {
				return fmt.Errorf("read back %s…", short(r.Fields["junk"].Value))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := store.CheckContract(ctx, s)
	if err != nil || rep.Bad != 1 || rep.Issues[0].Field != "junk" || rep.Issues[0].Code != model.CodeUnknownField {
		t.Fatalf("check: %+v %v", rep, err)
	}
	rec := func() *dsync.Record {
		var r *dsync.Record
		s.View(ctx, func(tx store.Tx) error { r, err = tx.Record("r1"); return err })
		return r
	}()
	del := dsync.Change{ID: "c2", Device: "dev", Counter: 2, Record: "r1", Type: model.TypeRegistration,
		District: contractDistrict, Op: dsync.OpDelete, Set: map[string]stdjson.RawMessage{dsync.FieldDeleted: stdjson.RawMessage("true")},
		Base: map[string]string{}}
	for k, f := range rec.Fields {
		del.Base[k] = f.Version
	}
	del.Base[dsync.FieldDeleted] = ""
	rs, err := store.Push(ctx, s, store.PushRequest{Device: "dev", Changes: []dsync.Change{del},
		Validate: store.ModelValidator(model.Rules{})})
	if err != nil || rs[0].Status != dsync.StatusApplied {
		t.Fatalf("delete: %+v %v", rs, err)
	}
}

// TestForEachRecord_SkipsUnreadable: a record no decoder reads is skipped,
// the others are read, and the scan names it (store.UnreadableError).
func TestForEachRecord_SkipsUnreadable(t *testing.T) {
	dir := t.TempDir()
	s, err := boltstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var chs []dsync.Change
	for i := 1; i <= 3; i++ {
		chs = append(chs, dsync.Change{ID: fmt.Sprintf("c%d", i), Device: "dev", Counter: uint64(i), Record: fmt.Sprintf("r%d", i),
			Type: model.TypeRegistration, District: contractDistrict, Op: dsync.OpCreate,
			Set: map[string]stdjson.RawMessage{"name": stdjson.RawMessage(`"李碧辉"`)}})
	}
	if _, err := store.Push(ctx, s, store.PushRequest{Device: "dev", Changes: chs}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bolt.Open(filepath.Join(dir, boltstore.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(btx *bolt.Tx) error {
		return btx.Bucket([]byte("records")).Put([]byte("r2"), []byte(`{"id":"r2",`))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if s, err = boltstore.Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var seen []string
	err = s.View(ctx, func(tx store.Tx) error {
		return tx.ForEachRecord("", func(r *dsync.Record) error { seen = append(seen, r.ID); return nil })
	})
	var u *store.UnreadableError
	if !errors.As(err, &u) || !errors.Is(err, store.ErrUnreadable) || len(u.IDs) != 1 || u.IDs[0] != "r2" {
		t.Fatalf("scan error %v", err)
	}
	if strings.Join(seen, ",") != "r1,r3" {
		t.Errorf("scan read %v", seen)
	}
	n := 0
	err = s.View(ctx, func(tx store.Tx) error {
		return store.DecodeAll(tx, "", func(rs []dsync.Record) error { n += len(rs); return nil })
	})
	if !errors.As(err, &u) || len(u.IDs) != 1 || u.IDs[0] != "r2" || n != 2 {
		t.Fatalf("bulk scan: %d records, error %v", n, err)
	}
	rep, err := store.CheckContract(ctx, s)
	if err != nil || rep.Records != 3 || rep.Bad != 1 || rep.Issues[0].Record != "r2" || rep.Issues[0].Code != store.CodeUnreadable {
		t.Errorf("check: %+v %v", rep, err)
	}
}

// A change that loses a conflict is validated as the state it asked for:
// the conflict would store its value, and a coordinator may choose it.
func TestPush_LosingValueValidated(t *testing.T) {
	s, err := boltstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	validate := store.ModelValidator(model.Rules{})
	rng := rand.New(rand.NewPCG(3, 4))
	create := dsync.Change{ID: "a-1", Device: "a", Counter: 1, Record: "r1", Type: model.TypeRegistration,
		District: "430102001001", Op: dsync.OpCreate, Set: bench.Registration(rng, 1), HLC: dsync.MakeHLC(1, 0)}
	edit := func(dev, id string, counter uint64, name string) dsync.Change {
		return dsync.Change{ID: id, Device: dev, Counter: counter, Record: "r1", Type: model.TypeRegistration, District: "430102001001",
			Op: dsync.OpUpdate, Set: map[string]stdjson.RawMessage{"name": stdjson.RawMessage(name)},
			Base: map[string]string{"name": "a-1"}, HLC: dsync.MakeHLC(2, 0)}
	}
	for _, req := range []store.PushRequest{
		{Device: "a", Changes: []dsync.Change{create}, Validate: validate},
		{Device: "b", Changes: []dsync.Change{edit("b", "b-1", 1, `"李碧辉"`)}, Validate: validate},
	} {
		res, err := store.Push(context.Background(), s, req)
		if err != nil || res[0].Status != dsync.StatusApplied {
			t.Fatalf("setup: %+v %v", res, err)
		}
	}
	// c edits from the same base: a conflict, whose value breaks the contract.
	res, err := store.Push(context.Background(), s, store.PushRequest{Device: "c",
		Changes: []dsync.Change{edit("c", "c-1", 1, `"bad\u0000name"`)}, Validate: validate})
	if err != nil || res[0].Status != dsync.StatusRejected || res[0].Code != dsync.CodeValidation {
		t.Fatalf("a losing value that breaks the contract: %+v %v", res, err)
	}
	// A valid losing value still makes a conflict.
	res, err = store.Push(context.Background(), s, store.PushRequest{Device: "c",
		Changes: []dsync.Change{edit("c", "c-2", 2, `"梁峻青"`)}, Validate: validate})
	if err != nil || res[0].Status != dsync.StatusConflict {
		t.Fatalf("a valid losing value: %+v %v", res, err)
	}
}
