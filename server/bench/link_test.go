package bench

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The link carries a body at its bandwidth, half a round trip late each
// way: 100 KB down at 25 KB/s takes about 4 s plus the round trips.
func TestLink_Shapes(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 100_000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()
	l, err := StartLink(srv.Listener.Addr().String(), LinkProfile{RTT: 300 * time.Millisecond, Down: 25_000, Up: 12_500})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	start := time.Now()
	resp, err := http.Get(l.URL())
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	down, up := l.Bytes()
	t.Logf("%d bytes in %v; link down %d up %d", n, took, down, up)
	if err != nil || n != int64(len(body)) || down < n || up == 0 {
		t.Fatalf("carried %d of %d (%v), link counted %d down %d up", n, len(body), err, down, up)
	}
	if took < 4*time.Second {
		t.Fatalf("100 KB at 25 KB/s arrived in %v: the link does not shape", took)
	}
}
