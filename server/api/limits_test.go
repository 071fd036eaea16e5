package api_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dengji/dengji/server/api"
	"github.com/dengji/dengji/server/store/boltstore/bolttest"
)

// Regression tests for issue #9, defect 5: slow senders, requests in
// flight and large bodies are bounded.

// startLimited is startServer with the limits set changes.
func startLimited(t *testing.T, set func(*api.Limits)) *testServer {
	t.Helper()
	return startServerOn(t, bolttest.Open(t), func(c *api.Config) { set(&c.Limits) })
}

// slowPush posts a push body of size bytes (one change whose name pads it),
// written in chunks of chunk bytes every interval.
func slowPush(s *testServer, token string, size, chunk int, interval time.Duration) (int, http.Header, error) {
	head := `{"changes":[{"id":"slow-1","device":"phone-1","n":1,"record":"r-slow","type":"registration",` +
		`"district":"430102001001","op":"create","set":{"name":"`
	tail := `"}}]}`
	body := head + strings.Repeat("x", max(size-len(head)-len(tail), 0)) + tail
	pr, pw := io.Pipe()
	go func() {
		for b := []byte(body); len(b) > 0; {
			n := min(chunk, len(b))
			if _, err := pw.Write(b[:n]); err != nil {
				return
			}
			b = b[n:]
			time.Sleep(interval)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", s.URL()+"/v1/push", pr)
	req.ContentLength = int64(len(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header, nil
}

// Senders below the minimum rate are cut off after a window; one that
// keeps the rate finishes, however long its upload takes.
func TestLimits_SlowSenders(t *testing.T) {
	s := startLimited(t, func(l *api.Limits) { l.BodyWindow, l.MinBodyRate = time.Second, 1024 })
	li := s.login(t, "li", "li-password", "phone-1")
	const senders = 50
	var open atomic.Int32
	var wg sync.WaitGroup
	start := time.Now()
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL(), "http://"))
			if err != nil {
				return
			}
			defer conn.Close()
			open.Add(1)
			defer open.Add(-1)
			fmt.Fprintf(conn, "POST /v1/push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 100000\r\n\r\n{", li.AccessToken)
			for time.Since(start) < 10*time.Second {
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
				conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
				if _, err := conn.Read(make([]byte, 1)); err == nil || !isTimeout(err) {
					return // answered or closed
				}
			}
		}()
	}
	time.Sleep(4 * time.Second)
	if n := open.Load(); n != 0 {
		t.Fatalf("%d of %d slow senders still connected after 4 s (window 1 s)", n, senders)
	}
	wg.Wait()

	// 5 KiB at about 2.5 KiB/s: past the window, above the rate.
	code, _, err := slowPush(s, li.AccessToken, 5<<10, 256, 100*time.Millisecond)
	if err != nil || code != 200 {
		t.Fatalf("a slow but steady upload: %d %v", code, err)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// Requests beyond MaxInFlight are answered 503 with Retry-After at once.
func TestLimits_InFlight(t *testing.T) {
	s := startLimited(t, func(l *api.Limits) { l.MaxInFlight, l.RetryAfter = 2, 7*time.Second })
	li := s.login(t, "li", "li-password", "phone-1")
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slowPush(s, li.AccessToken, 4<<10, 512, 150*time.Millisecond) // about 1.2 s
		}()
	}
	time.Sleep(300 * time.Millisecond)
	req, _ := http.NewRequest("GET", s.URL()+"/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+li.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "7" {
		t.Fatalf("a third request: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	wg.Wait()
	if code := s.call(t, "GET", "/v1/me", li.AccessToken, nil, nil); code != 200 {
		t.Fatalf("after the others: %d", code)
	}
}

// Only LargeBodies requests hold more than SmallBody at once; another waits
// LargeBodyWait for a slot, then gets 503 with Retry-After.
func TestLimits_LargeBodies(t *testing.T) {
	s := startLimited(t, func(l *api.Limits) {
		l.SmallBody, l.LargeBodies, l.LargeBodyWait = 64<<10, 1, 300*time.Millisecond
	})
	li := s.login(t, "li", "li-password", "phone-1")
	done := make(chan int)
	go func() {
		code, _, _ := slowPush(s, li.AccessToken, 256<<10, 64<<10, 400*time.Millisecond) // holds the slot ~1.6 s
		done <- code
	}()
	time.Sleep(600 * time.Millisecond)
	code, h, err := slowPush(s, li.AccessToken, 200<<10, 200<<10, 0)
	if err != nil || code != 503 || h.Get("Retry-After") == "" {
		t.Fatalf("a second large body: %d %v %v", code, h, err)
	}
	if code := <-done; code != 200 {
		t.Fatalf("the first large body: %d", code)
	}
	if code, _, err := slowPush(s, li.AccessToken, 200<<10, 200<<10, 0); err != nil || code != 200 {
		t.Fatalf("a large body once the slot is free: %d %v", code, err)
	}
}

// 40 concurrent pushes of 31 KB gzip, each 31 MiB expanded (the probe's
// 2.75 GB), keep the heap far below 40 bodies' worth.
func TestLimits_GzipExpansionsNotHeldAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("pushes 40 x 31 MiB")
	}
	s := startLimited(t, func(l *api.Limits) {})
	li := s.login(t, "li", "li-password", "phone-1")
	var zb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&zb, gzip.BestCompression)
	zw.Write([]byte(`{"changes":[{"id":"big-1","device":"phone-1","n":1,"record":"r-big","type":"registration",` +
		`"district":"430102001001","op":"create","set":{"name":"`))
	zw.Write(bytes.Repeat([]byte("x"), 31<<20))
	zw.Write([]byte(`"}}]}`))
	zw.Close()
	body := zb.Bytes()

	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	var wg sync.WaitGroup
	codes := make([]int, 40)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", s.URL()+"/v1/push", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+li.AccessToken)
			req.Header.Set("Content-Encoding", "gzip")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	close(stop)
	t.Logf("%d KB gzip each; answers %v; peak heap in use %d MiB", len(body)>>10, codes, peak.Load()>>20)
	for _, c := range codes {
		if c != 200 && c != 503 {
			t.Fatalf("answers %v", codes)
		}
	}
	if p := peak.Load(); p > 768<<20 {
		t.Fatalf("peak heap %d MiB for 40 concurrent 31 MiB expansions", p>>20)
	}
}
