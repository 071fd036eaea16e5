package api_test

import (
	"bytes"
	"context"
	stdjson "encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dengji/dengji/internal/jsonx"
	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/api"
	"github.com/dengji/dengji/server/auth"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore"
	dsync "github.com/dengji/dengji/sync"
)

// The fuzz targets of this file send fuzzed push bodies and pull query
// strings through the server's real handler (router, middleware, limits,
// handlers) over a real bbolt store, in process: httptest requests, not a
// listener, so that each execution costs milliseconds.

// fuzzServer is a server on a bbolt store with users and devices put
// straight into the store and tokens minted with the server's own keys, so
// that no execution pays for bcrypt.
type fuzzServer struct {
	srv    *api.Server
	st     store.Store
	tokens map[string]string // user name -> access token
}

// fuzzUsers are the accounts of a fuzzServer: li a registrar of one village
// with the device phone-1, wang a coordinator of two, zhou a town's
// coordinator, admin everything.
var fuzzUsers = []store.User{
	{Name: "li", Role: store.RoleRegistrar, Districts: []string{"430102001001"}},
	{Name: "wang", Role: store.RoleCoordinator, Districts: []string{"430102001001", "430102001002"}},
	{Name: "zhou", Role: store.RoleCoordinator, Districts: []string{"430102001"}},
	{Name: "admin", Role: store.RoleAdmin},
}

var fuzzKeys = auth.NewKeySet()

func newFuzzServer(t testing.TB, dir string) *fuzzServer {
	t.Helper()
	st, err := boltstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := api.DefaultConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Keys = fuzzKeys
	cfg.Validator = store.ModelValidator(model.Rules{ElectionDay: time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC)})
	srv, err := api.New(context.Background(), st, cfg)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	issuer, err := auth.NewIssuer(fuzzKeys, cfg.AccessTTL)
	if err != nil {
		t.Fatal(err)
	}
	fs := &fuzzServer{srv: srv, st: st, tokens: map[string]string{}}
	now := time.Now()
	err = st.Update(context.Background(), func(tx store.Tx) error {
		for _, u := range fuzzUsers {
			u.Created = now
			if err := tx.PutUser(&u); err != nil {
				return err
			}
			dev := ""
			if u.Name == "li" {
				dev = "phone-1"
				if err := tx.PutDevice(&store.Device{ID: dev, User: u.Name, Enrolled: now}); err != nil {
					return err
				}
			}
			if fs.tokens[u.Name], _, err = issuer.Issue(u.Name, dev, string(u.Role)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func (fs *fuzzServer) close() {
	fs.srv.Close()
	fs.st.Close()
}

// do serves one request in process and returns its status and body.
func (fs *fuzzServer) do(method, target, token string, body []byte) (int, []byte) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, "http://dengji.test/", rd)
	req.URL.RawQuery = ""
	if path, query, ok := strings.Cut(target, "?"); ok {
		req.URL.Path, req.URL.RawQuery = path, query
	} else {
		req.URL.Path = target
	}
	req.RequestURI = req.URL.RequestURI()
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	fs.srv.Handler().ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// pullAll pages through the whole feed of user from cursor 0.
func (fs *fuzzServer) pullAll(t *testing.T, user string) map[string]dsync.Record {
	t.Helper()
	out := map[string]dsync.Record{}
	cursor := uint64(0)
	for range 1000 {
		code, body := fs.do("GET", "/v1/pull?limit=5000&cursor="+strconv.FormatUint(cursor, 10), fs.tokens[user], nil)
		if code != 200 {
			t.Fatalf("pull from %d: %d %s", cursor, code, body)
		}
		var page dsync.PullResponse
		if err := stdjson.Unmarshal(body, &page); err != nil {
			t.Fatalf("pull page is not JSON encoding/json reads: %v\n%q", err, body)
		}
		for _, r := range page.Records {
			out[r.ID] = r
		}
		if !page.More {
			return out
		}
		cursor = page.Cursor
	}
	t.Fatal("pull never ends")
	return nil
}

// fuzzHLC is a timestamp an hour in the past: within the bound ahead of the
// server's clock whenever the seeds run.
var fuzzHLC = dsync.MakeHLC(time.Now().Add(-time.Hour).UnixMilli(), 0)

func pushSeed(changes ...dsync.Change) []byte {
	for i := range changes {
		changes[i].HLC = fuzzHLC
	}
	b, err := stdjson.Marshal(dsync.PushRequest{Changes: changes})
	if err != nil {
		panic(err)
	}
	return b
}

func seedChange(n uint64, record, district string, op dsync.Op, set map[string]string, base map[string]string) dsync.Change {
	ch := dsync.Change{ID: fmt.Sprintf("phone-1-%d", n), Device: "phone-1", Counter: n, Record: record,
		Type: model.TypeRegistration, District: district, Op: op, Base: base, Set: map[string]stdjson.RawMessage{}}
	for k, v := range set {
		ch.Set[k] = stdjson.RawMessage(v)
	}
	return ch
}

// fieldState is what a field must read back as.
type fieldState struct {
	value   stdjson.RawMessage
	version string
}

// FuzzPush sends a fuzzed body to POST /v1/push as the registrar li on a
// fresh store. Whatever the body, the answer is never a 5xx; an answer of
// 200 has one result per change, and every field it says was applied reads
// back by pull with the value sent, byte for byte, at the change's version;
// records that no applied change touched, or that were deleted, are not in
// the snapshot.
func FuzzPush(f *testing.F) {
	name := map[string]string{"name": `"李碧辉"`, "birth_date": `"1960-01-01"`}
	f.Add(pushSeed(seedChange(1, "r1", "430102001001", dsync.OpCreate, name, nil)))
	f.Add(pushSeed(
		seedChange(1, "r1", "430102001001", dsync.OpCreate, name, nil),
		seedChange(2, "r1", "430102001001", dsync.OpUpdate, map[string]string{"phone": `"13800138000"`},
			map[string]string{"phone": "", dsync.FieldDeleted: ""}),
		seedChange(3, "r2", "430102001001", dsync.OpCreate, map[string]string{"name": `"\u9ec4\u91d1"`, "birth_date": `"1970-02-03"`,
			"household_address": `"长沙市\n芙蓉区"`}, nil),
		seedChange(4, "r2", "430102001001", dsync.OpDelete, map[string]string{dsync.FieldDeleted: "true"},
			map[string]string{"name": "phone-1-3", "birth_date": "phone-1-3", "household_address": "phone-1-3"}),
	))
	f.Add(pushSeed(seedChange(1, "r1", "430102001001", dsync.OpCreate, map[string]string{"name": `"a"`, "junk": `[[[]]]`}, nil)))
	f.Add(pushSeed(seedChange(1, "r1", "430104001001", dsync.OpCreate, name, nil)))
	f.Add(pushSeed(seedChange(1, "r1", "430102001001", dsync.OpRestore, map[string]string{dsync.FieldDeleted: "false"}, nil)))
	f.Add([]byte(`{"changes":[{"id":"phone-1-\u0031","device":"phone-1","n":1,"record":"r1","type":"registration",` +
		`"district":"430102001001","op":"create","set":{"name":"\u674e","birth_date":"1960-01-01"},"hlc":"` +
		strconv.FormatUint(uint64(fuzzHLC), 10) + `"}]} `))
	// Found by this target: a change without an ID, or with one too long
	// for a bbolt key, failed the whole batch with a 500.
	f.Add([]byte(`{"ChAnges":[{"deviCe":"phone-1","distriCt":"430102001001"}]}`))
	f.Add([]byte(`{"changes":[{"id":"` + strings.Repeat("x", 40000) + `","device":"phone-1"}]}`))
	f.Add([]byte(`{"changes":[]}`))
	f.Add([]byte(`{"changes":[{"id":"x","n":18446744073709551615}]}{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fs := newFuzzServer(t, t.TempDir())
		defer fs.close()
		code, resp := fs.do("POST", "/v1/push", fs.tokens["li"], body)
		if code >= 500 {
			t.Fatalf("push answered %d: %s", code, resp)
		}
		var sent dsync.PushRequest
		stdErr := stdjson.Unmarshal(body, &sent)
		if code != 200 {
			if recs := fs.pullAll(t, "admin"); len(recs) != 0 {
				t.Fatalf("a refused push (%d %s) left %d records", code, resp, len(recs))
			}
			return
		}
		if stdErr != nil {
			// Known leniency (reported on issue #9): the general decoder
			// takes control characters unescaped in strings, which RFC 8259
			// forbids. Read such a body as the server does (jsonx); refuse any other.
			if !strings.Contains(stdErr.Error(), "in string literal") || jsonx.Unmarshal(body, &sent) != nil {
				t.Fatalf("the server took a body encoding/json refuses (%v)", stdErr)
			}
		}
		var pr dsync.PushResponse
		if err := stdjson.Unmarshal(resp, &pr); err != nil {
			t.Fatalf("push answer is not JSON: %v\n%q", err, resp)
		}
		if len(pr.Results) != len(sent.Changes) {
			t.Fatalf("%d changes, %d results", len(sent.Changes), len(pr.Results))
		}
		checkPushReadsBack(t, fs, sent.Changes, pr.Results)
	})
}

// checkPushReadsBack compares the snapshot pull with what the results say
// was applied, in the order the server applied it (by sequence).
func checkPushReadsBack(t *testing.T, fs *fuzzServer, changes []dsync.Change, results []dsync.Result) {
	t.Helper()
	var applied []int
	for i, r := range results {
		if r.Change != changes[i].ID {
			t.Fatalf("result %d answers %q, not change %q", i, r.Change, changes[i].ID)
		}
		if r.Status == dsync.StatusApplied || r.Status == dsync.StatusConflict {
			if r.Seq == 0 && r.Status == dsync.StatusApplied {
				t.Fatalf("applied change %s without a sequence", r.Change)
			}
			applied = append(applied, i)
		}
	}
	slices.SortFunc(applied, func(a, b int) int { return int(results[a].Seq) - int(results[b].Seq) })
	want := map[string]map[string]fieldState{}
	for _, i := range applied {
		ch := &changes[i]
		fields := want[ch.Record]
		if fields == nil {
			fields = map[string]fieldState{}
			want[ch.Record] = fields
		}
		for _, k := range results[i].AppliedFields(ch) {
			fields[k] = fieldState{value: ch.Set[k], version: ch.ID}
		}
	}
	got := fs.pullAll(t, "admin")
	for id, fields := range want {
		rec, ok := got[id]
		if del, set := fields[dsync.FieldDeleted]; set && string(del.value) == "true" {
			if ok {
				t.Fatalf("deleted record %s is in the snapshot", id)
			}
			continue
		}
		if len(fields) == 0 {
			continue // only conflicts: nothing of it written
		}
		if !ok {
			t.Fatalf("record %s with applied fields %v is not in the snapshot", id, fields)
		}
		for k, w := range fields {
			g := rec.Fields[k]
			if w.value != nil && !bytes.Equal(g.Value, w.value) {
				t.Fatalf("record %s field %s reads back %q, was sent %q", id, k, g.Value, w.value)
			}
			if g.Version != w.version {
				t.Fatalf("record %s field %s has version %q, want %q", id, k, g.Version, w.version)
			}
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Fatalf("record %s is in the snapshot but no change to it was applied", id)
		}
	}
}

// pullFixture is the store FuzzPull reads: records in li's village, in
// wang's second village, in a work-unit district of the town, out of every
// scope but the admin's, and a deleted one.
func pullFixture(t testing.TB, fs *fuzzServer) {
	t.Helper()
	var changes []dsync.Change
	n := uint64(0)
	for i, d := range []string{"430102001001", "430102001002", "4301020019001", "430104001001", "430102001001",
		"430102001002", "430104001001", "430102001001"} {
		for j := range 3 {
			n++
			changes = append(changes, dsync.Change{ID: fmt.Sprintf("c%d", n), Device: store.ServerDevice,
				Counter: n, Record: fmt.Sprintf("r%d-%d", i, j), Type: model.TypeRegistration, District: d,
				Op: dsync.OpCreate, HLC: fuzzHLC, Set: map[string]stdjson.RawMessage{
					"name": stdjson.RawMessage(fmt.Sprintf(`"人%d"`, n)), "birth_date": stdjson.RawMessage(`"1960-01-01"`)}})
		}
	}
	n++
	changes = append(changes, dsync.Change{ID: fmt.Sprintf("c%d", n), Device: store.ServerDevice, Counter: n,
		Record: "r0-0", Type: model.TypeRegistration, District: "430102001001", Op: dsync.OpDelete, HLC: fuzzHLC,
		Set:  map[string]stdjson.RawMessage{dsync.FieldDeleted: stdjson.RawMessage("true")},
		Base: map[string]string{"name": "c1", "birth_date": "c1", dsync.FieldDeleted: ""}})
	rs, err := store.Push(context.Background(), fs.st, store.PushRequest{Device: store.ServerDevice, Author: "admin",
		Changes: changes, MayRestore: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Status != dsync.StatusApplied {
			t.Fatalf("fixture change %s: %+v", r.Change, r)
		}
	}
}

// FuzzPull sends fuzzed query strings to GET /v1/pull as each kind of
// caller. Never a 5xx; a query the API's documented bounds allow is
// answered 200 and one they do not 4xx; a page holds exactly the records of
// the caller's scope (narrowed to the districts asked for) above the
// cursor, in sequence order, each once, at most limit of them, tombstones
// included (from cursor 0 too); a cursor past the feed's end reads from the end
// and never wraps to the start.
func FuzzPull(f *testing.F) {
	for _, q := range []string{"", "cursor=0&limit=1000", "cursor=3&limit=2", "district=430102001001&district=430102001001",
		"district=430102001", "district=430104001001", "cursor=18446744073709551615", "cursor=18446744073709551616",
		"cursor=-1", "limit=0", "limit=5001", "limit=5000", "district=", "district=4301020019001&district=430102001002",
		"cursor=abc&limit=x", "district=%zz", "cursor=1;limit=2", "district=" + strings.Repeat("4", 129), "cursor=20&district=4301"} {
		for u := range len(fuzzUsers) {
			f.Add(q, uint8(u))
		}
	}
	fs := newFuzzServer(f, f.TempDir())
	f.Cleanup(fs.close)
	pullFixture(f, fs)
	var all []dsync.Record
	var high uint64
	err := fs.st.View(context.Background(), func(tx store.Tx) error {
		var err error
		if high, err = tx.HighSeq(); err != nil {
			return err
		}
		return tx.ForEachRecord("", func(r *dsync.Record) error {
			all = append(all, *r)
			return nil
		})
	})
	if err != nil {
		f.Fatal(err)
	}
	slices.SortFunc(all, func(a, b dsync.Record) int { return int(a.Seq) - int(b.Seq) })
	f.Fuzz(func(t *testing.T, query string, who uint8) {
		u := fuzzUsers[int(who)%len(fuzzUsers)]
		code, body := fs.do("GET", "/v1/pull?"+query, fs.tokens[u.Name], nil)
		if code >= 500 {
			t.Fatalf("pull?%s as %s answered %d: %s", query, u.Name, code, body)
		}
		q, _ := url.ParseQuery(query) // what the handler sees: bad pairs dropped
		cursor, limit, asked, wantCode := pullQuery(q, &u)
		if code != wantCode {
			t.Fatalf("pull?%s as %s answered %d %s, want %d", query, u.Name, code, body, wantCode)
		}
		if code != 200 {
			return
		}
		var page dsync.PullResponse
		if err := stdjson.Unmarshal(body, &page); err != nil {
			t.Fatalf("pull page is not JSON: %v", err)
		}
		cursor = min(cursor, high)
		var want []string
		more, next := false, uint64(0) // next: the first record in scope left for a later page
		for _, r := range all {
			if r.Seq <= cursor || !u.InScope(r.District) ||
				(asked != nil && !slices.ContainsFunc(asked, func(a string) bool { return strings.HasPrefix(r.District, a) })) {
				continue
			}
			if len(want) == limit {
				more, next = true, r.Seq
				break
			}
			want = append(want, r.ID)
		}
		var got []string
		for _, r := range page.Records {
			got = append(got, r.ID)
			if r.Seq <= cursor || r.Seq > high || !u.InScope(r.District) {
				t.Fatalf("pull?%s as %s: record %s (seq %d, district %s) out of the page's bounds", query, u.Name, r.ID, r.Seq, r.District)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("pull?%s as %s: got %v, want %v", query, u.Name, got, want)
		}
		// The cursor never passes a record of the caller's it did not send.
		if page.Cursor < cursor || page.Cursor > high || (len(got) > 0 && page.Cursor < page.Records[len(got)-1].Seq) ||
			(more && page.Cursor >= next) {
			t.Fatalf("pull?%s as %s: cursor %d (asked from %d, feed ends at %d)", query, u.Name, page.Cursor, cursor, high)
		}
		if page.More && !more {
			t.Fatalf("pull?%s as %s: more with nothing left", query, u.Name)
		}
		if more && !page.More {
			t.Fatalf("pull?%s as %s: records left, yet no more", query, u.Name)
		}
	})
}

// pullQuery is what the API's documented bounds make of a pull query: the
// cursor, the limit, the districts asked for (nil: the whole scope) and the
// status the answer must have.
func pullQuery(q url.Values, u *store.User) (cursor uint64, limit int, asked []string, code int) {
	get := func(k, def string) string {
		if v, ok := q[k]; ok {
			return v[0]
		}
		return def
	}
	cursor, err1 := strconv.ParseUint(get("cursor", "0"), 10, 64)
	limit, err2 := strconv.Atoi(get("limit", "1000"))
	if err1 != nil || err2 != nil || limit < 1 || limit > dsync.MaxPullPage {
		return 0, 0, nil, http.StatusBadRequest
	}
	ds := q["district"]
	if len(ds) == 0 {
		return cursor, limit, nil, 200
	}
	if len(ds) > 100 {
		return 0, 0, nil, http.StatusBadRequest
	}
	// Each asked once, checked in order: the first bad one decides.
	ds = slices.Compact(slices.Sorted(slices.Values(ds)))
	for _, d := range ds {
		switch {
		case d == "" || len(d) > 128:
			return 0, 0, nil, http.StatusBadRequest
		case !u.InScope(d):
			return 0, 0, nil, http.StatusForbidden
		}
	}
	return cursor, limit, ds, 200
}
