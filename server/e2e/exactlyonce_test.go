package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	sdk "github.com/dengji/dengji/client-sdk"
	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// flakyProxy stands between a device and the real server. It is a fake for
// faults a loopback test cannot otherwise cause: it sends every push to the
// server twice (a duplicated request), and it cuts the device's connection
// after the server has committed every other push, so the device never sees
// the answer and must retry.
type flakyProxy struct {
	target string
	pushes atomic.Int64
	cut    atomic.Int64
}

func (p *flakyProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	forward := func() (*http.Response, []byte, error) {
		req, _ := http.NewRequest(r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}
	resp, b, err := forward()
	if err == nil && strings.HasSuffix(r.URL.Path, "/push") {
		n := p.pushes.Add(1)
		resp, b, err = forward() // the duplicate: answered from the server's memory of the first
		if err == nil && n%2 == 1 {
			p.cut.Add(1)
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close() // committed on the server, lost on the way back
			return
		}
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(b)
}

func TestE2E_PushTwiceAndCutConnectionsAppliesOnce(t *testing.T) {
	s := startServer(t)
	s.addUser(t, "li", store.RoleRegistrar, "430102001001")
	proxy := &flakyProxy{target: s.URL()}
	ps := httptest.NewServer(proxy)
	defer ps.Close()

	d := s.device(t, "li", ps.URL, sdk.Options{BatchSize: 50, MaxAttempts: 10})
	const n = 400
	ids := make([]string, 0, n)
	for i := 0; i < n; i++ {
		id, err := d.Create(model.TypeRegistration, "430102001001", registration(uint64(1000+i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	// Updates too, so a double application would show as a conflict or a
	// second sequence number.
	for _, id := range ids[:100] {
		must(t, d.Update(id, map[string]json.RawMessage{"voter_group": str("第9选民小组")}))
	}
	mustSync(t, d)
	if proxy.cut.Load() == 0 || proxy.pushes.Load() < 2*((n+100)/50) {
		t.Fatalf("the proxy did not interfere: %d pushes, %d cut", proxy.pushes.Load(), proxy.cut.Load())
	}

	var high uint64
	count := 0
	s.st.View(ctx, func(tx store.Tx) error {
		high, _ = tx.HighSeq()
		return tx.ForEachRecord("", func(*dsync.Record) error { count++; return nil })
	})
	if count != n || high != n+100 {
		t.Fatalf("server holds %d records and %d sequence numbers, want %d and %d", count, high, n, n+100)
	}
	if cs := s.conflicts(t); len(cs) != 0 {
		t.Fatalf("a duplicated change made %d conflicts", len(cs))
	}
	for _, id := range ids[:100] {
		if got := string(s.record(t, id).Fields["voter_group"].Value); got != `"第9选民小组"` {
			t.Fatalf("update lost: %s", got)
		}
	}
	if p, _ := d.Pending(); p != 0 {
		t.Fatalf("%d changes still pending", p)
	}
	if got := deviceStates(t, d); len(got) != n {
		t.Fatalf("device holds %d records", len(got))
	}
}
