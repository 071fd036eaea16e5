package console_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/api"
	"github.com/dengji/dengji/server/bench"
	"github.com/dengji/dengji/server/console"
	"github.com/dengji/dengji/server/dedup"
	"github.com/dengji/dengji/server/roll"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore"
	dsync "github.com/dengji/dengji/sync"
)

// The console's benchmark: every queue page and the overview, rendered by
// the console's handler (server time: no network, no browser), over a
// store of DENGJI_CONSOLE_BENCH_RECORDS registrations (1,000,000 unless
// set) in 1,000 districts of one county, 1% needing verification, with
// 10,000 open conflicts (two registrars' edits of one field, pushed as
// devices push) and 10,000 open duplicate cases (written as a run writes
// them, with evidence of the engine's shape). The fixture is built once
// per process; building it takes about a minute.

var benchFix struct {
	once    sync.Once
	dir     string
	st      store.Store
	handler http.Handler
	cookies map[string]*http.Cookie // user -> session cookie
	err     error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchFix.st != nil {
		benchFix.st.Close()
	}
	if benchFix.dir != "" {
		os.RemoveAll(benchFix.dir)
	}
	os.Exit(code)
}

const benchCases = 10_000

func benchRecords() int {
	if n, err := strconv.Atoi(os.Getenv("DENGJI_CONSOLE_BENCH_RECORDS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// benchDistrict is the i-th record's district: 20 towns of 50 villages.
func benchDistrict(i int) string {
	d := i % 1000
	return fmt.Sprintf("430102%03d%03d", 1+d/50, 1+d%50)
}

func benchFixture(b *testing.B) {
	benchFix.once.Do(func() { benchFix.err = buildBenchFixture() })
	if benchFix.err != nil {
		b.Fatal(benchFix.err)
	}
}

func buildBenchFixture() error {
	dir, err := os.MkdirTemp("", "dengji-console-bench-")
	if err != nil {
		return err
	}
	benchFix.dir = dir
	st, err := boltstore.Open(dir)
	if err != nil {
		return err
	}
	benchFix.st = st
	start := time.Now()
	if err := benchDistricts(st); err != nil {
		return err
	}
	ids, err := benchRegistrations(st, benchRecords())
	if err != nil {
		return err
	}
	if err := benchConflicts(st, ids[:benchCases]); err != nil {
		return err
	}
	if err := benchDupCases(st, ids); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "console bench fixture: %d registrations, %d conflicts, %d cases in %v\n",
		len(ids), benchCases, benchCases, time.Since(start).Round(time.Second))
	return benchSessions(st)
}

func benchDistricts(st store.Store) error {
	return st.Update(ctx, func(tx store.Tx) error {
		for i := range 1000 {
			code := benchDistrict(i)
			d := model.District{Code: code, Name: fmt.Sprintf("第%d村", i+1), Kind: "village", Town: code[:9], County: "430102"}
			if err := tx.PutDistrict(&d); err != nil {
				return err
			}
		}
		return nil
	})
}

// benchRegistrations pushes n registrations as one device would, in
// batches of 2,000.
func benchRegistrations(st store.Store, n int) ([]string, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	ids := make([]string, 0, n)
	var counter uint64
	for lo := 0; lo < n; lo += 2000 {
		var chs []dsync.Change
		for i := lo; i < min(lo+2000, n); i++ {
			f := bench.Registration(rng, i)
			if i%100 == 0 {
				delete(f, "id_number") // 待核实
			}
			counter++
			id := fmt.Sprintf("rec-%07d", i)
			chs = append(chs, dsync.Change{ID: fmt.Sprintf("c-%07d", i), Device: "bench-a", Counter: counter, Record: id,
				Type: model.TypeRegistration, District: benchDistrict(i), Op: dsync.OpCreate,
				HLC: dsync.MakeHLC(time.Now().Add(-time.Duration(n-i)*time.Second).UnixMilli(), 0), Set: f, Base: map[string]string{}})
			ids = append(ids, id)
		}
		if _, err := store.Push(ctx, st, store.PushRequest{Device: "bench-a", Author: "bench", Changes: chs}); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// benchConflicts has two devices set one field of each record without
// seeing each other's edit: one conflict per record.
func benchConflicts(st store.Store, ids []string) error {
	seen := make([]*dsync.Record, len(ids)) // what both devices saw before either edited
	err := st.View(ctx, func(tx store.Tx) error {
		for i, id := range ids {
			var err error
			if seen[i], err = tx.Record(id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, dev := range []string{"bench-b", "bench-c"} {
		var chs []dsync.Change
		for i, rec := range seen {
			v, _ := json.Marshal(dev + "的小组")
			chs = append(chs, dsync.Change{ID: dev + "-" + rec.ID, Device: dev, Counter: uint64(i + 1), Record: rec.ID,
				Type: model.TypeRegistration, District: rec.District, Op: dsync.OpUpdate, HLC: dsync.MakeHLC(time.Now().UnixMilli(), 0),
				Set:  map[string]json.RawMessage{"voter_group": v},
				Base: map[string]string{"voter_group": rec.Version("voter_group"), dsync.FieldDeleted: rec.Version(dsync.FieldDeleted)}})
		}
		for lo := 0; lo < len(chs); lo += 2000 {
			if _, err := store.Push(ctx, st, store.PushRequest{Device: dev, Author: dev, Changes: chs[lo:min(lo+2000, len(chs))]}); err != nil {
				return err
			}
		}
	}
	return nil
}

// benchDupCases writes open cases of two members each, in two districts,
// with evidence as the engine stores it.
func benchDupCases(st store.Store, ids []string) error {
	ev := dedup.Evidence{Fields: []dedup.FieldEvidence{{Field: "name", Level: "exact", Weight: 3.2},
		{Field: "birth_date", Level: "exact", Weight: 3.3}, {Field: "id_number", Level: "exact", Weight: 7.4},
		{Field: "phone", Level: "disagree", Weight: -1.2}}, Total: 12.7, Posterior: 3.9, Coincidences: 0.2}
	return st.Update(ctx, func(tx store.Tx) error {
		for i := range benchCases {
			a, bb := ids[len(ids)-1-2*i], ids[len(ids)-2-2*i]
			links, _ := json.Marshal([]dedup.Link{{A: a, B: bb, Decision: dedup.Review, Evidence: ev}})
			c := store.DupCase{ID: fmt.Sprintf("dup-%06d", i), Decision: "review", Status: store.DupOpen, Score: 3.9, Keep: a,
				Members: []store.DupMember{{Record: a, District: benchDistrict(len(ids) - 1 - 2*i)},
					{Record: bb, District: benchDistrict(len(ids) - 2 - 2*i)}}, Evidence: links, Found: time.Now()}
			if err := tx.PutDupCase(&c); err != nil {
				return err
			}
		}
		return nil
	})
}

// benchSessions builds the console and signs in an admin and a county's
// coordinator through its form.
func benchSessions(st store.Store) error {
	for _, u := range []accounts.NewUser{{Name: "admin", Role: store.RoleAdmin, Password: adminPassword},
		{Name: "wu", Role: store.RoleCoordinator, Districts: []string{"430102"}, Password: "wu-password-1"}} {
		if _, err := accounts.Add(ctx, st, u); err != nil {
			return err
		}
	}
	cfg := api.DefaultConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := api.New(ctx, st, cfg)
	if err != nil {
		return err
	}
	c, err := console.New(console.Config{Store: st, Accounts: srv.Accounts(), Dedup: srv.Dedup(),
		StartDedup: srv.StartDedup, Logger: cfg.Logger})
	if err != nil {
		return err
	}
	benchFix.handler = c
	benchFix.cookies = map[string]*http.Cookie{}
	for user, pw := range map[string]string{"admin": adminPassword, "wu": "wu-password-1"} {
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, httptest.NewRequest("GET", "/console/login", nil))
		pre := rec.Result().Cookies()[0]
		token := csrfInput.FindStringSubmatch(rec.Body.String())[1]
		req := httptest.NewRequest("POST", "/console/login", strings.NewReader(url.Values{"csrf": {token},
			"username": {user}, "password": {pw}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(pre)
		rec = httptest.NewRecorder()
		c.ServeHTTP(rec, req)
		for _, ck := range rec.Result().Cookies() {
			if ck.Name == "dengji_session" {
				benchFix.cookies[user] = ck
			}
		}
		if benchFix.cookies[user] == nil {
			return fmt.Errorf("bench sign-in of %s: %d", user, rec.Code)
		}
	}
	// Measure nothing while the console's first count (every record, in
	// the background) runs: pages would wait for it or compete with it.
	for {
		req := httptest.NewRequest("GET", "/console/", nil)
		req.AddCookie(benchFix.cookies["admin"])
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, req)
		if !strings.Contains(rec.Body.String(), `id="counting"`) {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// benchPage renders path as user b.N times; the first request (the
// overview's first count) is made before the clock starts.
func benchPage(b *testing.B, user, path string) { benchPageEach(b, user, path, nil) }

// benchPageEach is benchPage with before run, its time not counted, ahead
// of each request.
func benchPageEach(b *testing.B, user, path string, before func()) {
	benchFixture(b)
	get := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		req.AddCookie(benchFix.cookies[user])
		rec := httptest.NewRecorder()
		benchFix.handler.ServeHTTP(rec, req)
		return rec
	}
	rec := get()
	for strings.Contains(rec.Body.String(), `id="counting"`) { // the first count, in the background
		time.Sleep(100 * time.Millisecond)
		rec = get()
	}
	if rec.Code != 200 {
		b.Fatalf("GET %s as %s: %d %.300s", path, user, rec.Code, rec.Body.String())
	}
	b.ResetTimer()
	for b.Loop() {
		if before != nil {
			b.StopTimer()
			before()
			b.StartTimer()
		}
		if rec = get(); rec.Code != 200 {
			b.Fatalf("GET %s: %d", path, rec.Code)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
	b.ReportMetric(float64(strings.Count(rec.Body.String(), `class="row"`)), "rows")
}

func BenchmarkConsole_Overview(b *testing.B) {
	for _, user := range []string{"admin", "wu"} {
		b.Run(user, func(b *testing.B) { benchPage(b, user, "/console/") })
	}
	b.Run("town", func(b *testing.B) { benchPage(b, "wu", "/console/?area=430102010") })
	// Each page after a registrar's push: the tally counts that district
	// again (1,000 records at a million), the queue counts are redone.
	b.Run("after-push", func(b *testing.B) {
		benchFixture(b)
		var n uint64
		benchPageEach(b, "wu", "/console/", func() {
			n++
			rec := fmt.Sprintf("rec-%07d", benchRecords()/2+int(n))
			var cur *dsync.Record
			benchFix.st.View(ctx, func(tx store.Tx) error { cur, _ = tx.Record(rec); return nil })
			v, _ := json.Marshal(fmt.Sprintf("第%d选民小组", n))
			ch := dsync.Change{ID: fmt.Sprintf("bench-d-%d", n), Device: "bench-d", Counter: n, Record: rec,
				Type: model.TypeRegistration, District: cur.District, Op: dsync.OpUpdate, HLC: dsync.MakeHLC(time.Now().UnixMilli(), 0),
				Set:  map[string]json.RawMessage{"voter_group": v},
				Base: map[string]string{"voter_group": cur.Version("voter_group"), dsync.FieldDeleted: cur.Version(dsync.FieldDeleted)}}
			if _, err := store.Push(ctx, benchFix.st, store.PushRequest{Device: "bench-d", Author: "li", Changes: []dsync.Change{ch}}); err != nil {
				b.Fatal(err)
			}
		})
	})
}

func BenchmarkConsole_Conflicts(b *testing.B) {
	b.Run("first", func(b *testing.B) { benchPage(b, "wu", "/console/conflicts") })
	b.Run("town", func(b *testing.B) { benchPage(b, "wu", "/console/conflicts?district=430102010") })
	b.Run("admin", func(b *testing.B) { benchPage(b, "admin", "/console/conflicts") })
}

func BenchmarkConsole_Duplicates(b *testing.B) {
	b.Run("first", func(b *testing.B) { benchPage(b, "wu", "/console/duplicates") })
	b.Run("admin", func(b *testing.B) { benchPage(b, "admin", "/console/duplicates") })
	b.Run("case", func(b *testing.B) { benchPage(b, "wu", "/console/duplicates/dup-005000") })
}

func BenchmarkConsole_Verification(b *testing.B) {
	b.Run("first", func(b *testing.B) { benchPage(b, "wu", "/console/verification") })
	b.Run("admin", func(b *testing.B) { benchPage(b, "admin", "/console/verification") })
	b.Run("district", func(b *testing.B) { benchPage(b, "wu", "/console/verification?district=430102001001") })
}

// BenchmarkConsole_TallyFirstCount is the overview's first count of every
// record, which a server does once, in the background, at start (about a
// minute a count at a million: run it alone with -benchtime 1x).
func BenchmarkConsole_TallyFirstCount(b *testing.B) {
	benchFixture(b)
	for b.Loop() {
		if err := roll.NewTally().Refresh(ctx, benchFix.st); err != nil {
			b.Fatal(err)
		}
	}
}
