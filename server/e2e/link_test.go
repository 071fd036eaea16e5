package e2e

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/dengji/dengji/client-sdk"
	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/bench"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// testLink is a slow link for tests: slow enough that a bootstrap takes
// several seconds, so that cuts fall inside pages.
func testLink(cuts bool) bench.LinkProfile {
	p := bench.LinkProfile{Name: "test", RTT: 20 * time.Millisecond, Down: 20_000, Up: 20_000}
	if cuts {
		p.CutMin, p.CutMax, p.Seed = 1500*time.Millisecond, 3*time.Second, 7
		if raceEnabled {
			// Under the race detector the server takes seconds to build
			// a page before its first byte: cuts that fall before it
			// would test the detector, not resumption. Half the speed
			// and twice the time between cuts keep as many cuts inside
			// the bootstrap.
			p.CutMin, p.CutMax = 2*p.CutMin, 2*p.CutMax
			p.Down, p.Up = p.Down/2, p.Up/2
		}
	}
	return p
}

func startLink(t *testing.T, s *server, p bench.LinkProfile) *bench.Link {
	t.Helper()
	l, err := bench.StartLink(s.Server.URL()[len("http://"):], p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// A bootstrap through a link that resets every connection after about a
// second completes, and fetches little again: records are kept as they
// arrive, and each try asks for the rest.
func TestE2E_BootstrapThroughCutsRefetchesLittle(t *testing.T) {
	s := startServer(t)
	s.addUser(t, "li", store.RoleRegistrar, "430102001001")
	s.addUser(t, "wang", store.RoleRegistrar, "430102001001")
	seeder := s.device(t, "wang", s.URL(), sdk.Options{})
	const n = 2000
	for i := range n {
		_, err := seeder.Create(model.TypeRegistration, "430102001001", registration(uint64(i+1)))
		must(t, err)
	}
	mustSync(t, seeder)

	bootstrap := func(cuts bool) (int64, int64) {
		l := startLink(t, s, testLink(cuts))
		d := s.device(t, "li", l.URL(), sdk.Options{MaxAttempts: 3, BackoffBase: 10 * time.Millisecond})
		down0, _ := l.Bytes()
		rep := mustSync(t, d)
		if rep.Pulled != n || len(deviceStates(t, d)) != n {
			t.Fatalf("cuts %v: pulled %d, holds %d, want %d", cuts, rep.Pulled, len(deviceStates(t, d)), n)
		}
		down, _ := l.Bytes()
		return down - down0, l.Cuts()
	}
	clean, _ := bootstrap(false)
	cut, cuts := bootstrap(true)
	t.Logf("bootstrap of %d: %d bytes clean, %d bytes through %d cuts", n, clean, cut, cuts)
	if cuts < 3 {
		t.Fatalf("only %d cuts: the link did not interfere", cuts)
	}
	if float64(cut) > 1.5*float64(clean) {
		t.Fatalf("through cuts %d bytes, clean %d: more than half again fetched twice", cut, clean)
	}
}

// A push through the cut link, whose answers are lost whenever a cut falls
// after the server committed, is applied once.
func TestE2E_PushThroughCutsAppliesOnce(t *testing.T) {
	s := startServer(t)
	s.addUser(t, "li", store.RoleRegistrar, "430102001001")
	l := startLink(t, s, bench.LinkProfile{RTT: 20 * time.Millisecond, Down: 20_000, Up: 20_000,
		CutMin: 500 * time.Millisecond, CutMax: 1500 * time.Millisecond, Seed: 3})
	d := s.device(t, "li", l.URL(), sdk.Options{BatchSize: 100, BackoffBase: 10 * time.Millisecond})
	const n = 600
	for i := range n {
		_, err := d.Create(model.TypeRegistration, "430102001001", registration(uint64(i+1)))
		must(t, err)
	}
	var err error
	for try := 0; try < 20; try++ { // Sync is what the app calls again after an error
		if _, err = d.Sync(ctx); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("sync through cuts: %v", err)
	}
	var high uint64
	count := 0
	s.st.View(ctx, func(tx store.Tx) error {
		high, _ = tx.HighSeq()
		return tx.ForEachRecord("", func(*dsync.Record) error { count++; return nil })
	})
	if count != n || high != n || l.Cuts() == 0 {
		t.Fatalf("server holds %d records and %d sequence numbers after %d cuts, want %d and %d", count, high, l.Cuts(), n, n)
	}
	if p, _ := d.Pending(); p != 0 || len(deviceStates(t, d)) != n {
		t.Fatalf("device: %d pending, %d records", p, len(deviceStates(t, d)))
	}
}

// A one-record sync on an open connection is one round trip: the change
// goes up, and its answer, the rules (unchanged: not sent) and the page
// (the device's own record left out) come back in one exchange.
func TestE2E_SmallSyncOneRoundTrip(t *testing.T) {
	s := startServer(t)
	s.addUser(t, "li", store.RoleRegistrar, "430102001001")
	l := startLink(t, s, bench.LinkEDGE)
	rt := bench.NewCounter()
	d := s.device(t, "li", l.URL(), sdk.Options{HTTPClient: &http.Client{Transport: rt}})
	mustSync(t, d) // the rules, and an open connection
	id, err := d.Create(model.TypeRegistration, "430102001001", registration(1))
	must(t, err)
	reqs, conns := rt.Requests(), l.Conns()
	rep := mustSync(t, d)
	if got := rt.Requests() - reqs; got != 1 || l.Conns() != conns {
		t.Fatalf("a one-record sync took %d requests and %d new connections", got, l.Conns()-conns)
	}
	if rep.Pushed["applied"] != 1 || rep.Pulled != 0 || s.record(t, id) == nil {
		t.Fatalf("report %+v", rep)
	}
}

// levelSeen records the gzip level of every push body a device sends: the
// XFL byte of the gzip header, 2 for the best level and 4 for the fastest
// (RFC 1952; compress/gzip sets it).
type levelSeen struct {
	rt     http.RoundTripper
	mu     sync.Mutex
	levels []byte
	timing []string
}

func (l *levelSeen) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path != "/v1/push" || r.Body == nil {
		return l.rt.RoundTrip(r)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	resp, err := l.rt.RoundTrip(r)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(body) > 8 {
		l.levels = append(l.levels, body[8])
	}
	if resp != nil {
		l.timing = append(l.timing, resp.Header.Get("Server-Timing"))
	}
	return resp, err
}

// A device compresses its pushes as hard as the link gives it time for:
// over a slow link every batch at the best level, over loopback, once it
// has seen that the link takes less time than the best level, the fastest.
// The server says how long it worked (Server-Timing) so that the device can
// tell the link's time from the server's.
func TestE2E_PushCompressesAsTheLinkAllows(t *testing.T) {
	s := startServer(t)
	s.addUser(t, "li", store.RoleRegistrar, "430102001001")
	push := func(url string) *levelSeen {
		seen := &levelSeen{rt: http.DefaultTransport}
		d := s.device(t, "li", url, sdk.Options{BatchSize: 500, HTTPClient: &http.Client{Transport: seen}})
		for i := range 2000 {
			_, err := d.Create(model.TypeRegistration, "430102001001", registration(uint64(i+1)))
			must(t, err)
		}
		if rep := mustSync(t, d); rep.Pushed[dsync.StatusApplied] != 2000 {
			t.Fatalf("pushed %v", rep.Pushed)
		}
		return seen
	}
	const best, fastest = 2, 4
	slow := push(startLink(t, s, bench.LinkProfile{Name: "slow", RTT: 20 * time.Millisecond, Down: 200_000, Up: 100_000}).URL())
	lan := push(s.URL())
	t.Logf("levels over a slow link %v, over loopback %v; Server-Timing %q", slow.levels, lan.levels, lan.timing[0])
	if len(slow.levels) != 4 || len(lan.levels) != 4 {
		t.Fatalf("batches: %d and %d, want 4 each", len(slow.levels), len(lan.levels))
	}
	for i, lv := range slow.levels {
		if lv != best {
			t.Errorf("slow link, batch %d: level byte %d, want the best (%d)", i+1, lv, best)
		}
	}
	// The first two batches are compressed before any answer came back.
	if lan.levels[0] != best || !slices.Contains(lan.levels[2:], fastest) {
		t.Errorf("loopback: level bytes %v, want the best first and then the fastest", lan.levels)
	}
	for _, h := range lan.timing {
		if !strings.HasPrefix(h, "app;dur=") {
			t.Errorf("push answer's Server-Timing %q, want app;dur=…", h)
		}
	}
}
