package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/api"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore/bolttest"
	dsync "github.com/dengji/dengji/sync"
)

// lockedBuffer is a log sink many request goroutines write to.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// scrape reads the server's metrics as name{labels} -> value lines.
func scrape(t *testing.T, s *testServer) string {
	t.Helper()
	rec := httptest.NewRecorder()
	s.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

// metric is the value of the sample line beginning with series, 0 if none.
func metric(text, series string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, _ := strconv.ParseFloat(rest, 64)
			return v
		}
	}
	return 0
}

// TestObserve_SyncAndImport: a sync (push with an applied, a rejected and a
// conflicting change, then pulls) and an import through the real server,
// with its logs captured as JSON: the metrics scraped afterwards have moved
// by what was done, every log line carries a request ID, and no name, ID
// number, phone or address of what was pushed or imported is in any line,
// whatever the level.
func TestObserve_SyncAndImport(t *testing.T) {
	var logs lockedBuffer
	st := bolttest.Open(t)
	s := startServerOn(t, st, func(c *api.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.StoreSize = func() int64 { return 12345 }
		c.Validator = store.ModelValidator(model.Rules{})
	})
	before := scrape(t, s)
	admin := s.login(t, "admin", "admin-pass", "")
	li := s.login(t, "li", "li-password", "phone-1")

	id := rollID(t, "430102", "19900102", 11)
	personal := []string{"李碧辉", "李碧晖", "黎碧辉", id, "13800138000", "长沙市芙蓉区五一大道1号", "杨倩", "13912345678"}
	reg := model.Registration{Name: "李碧辉", Gender: "M", BirthDate: "1990-01-02", IDNumber: id, Phone: "13800138000",
		HouseholdAddress: "长沙市芙蓉区五一大道1号", Channel: "door"}
	ok := dsync.Change{ID: "phone-1-1", Device: "phone-1", Counter: 1, Record: "r-1", Type: "registration",
		District: "430102001001", Op: dsync.OpCreate, HLC: nowHLC(), Set: reg.Fields()}
	bad := ok
	bad.ID, bad.Counter, bad.Record = "phone-1-2", 2, "r-2"
	bad.Set = model.Registration{Name: "李碧晖", Phone: "13800138000"}.Fields() // neither an ID number nor a birth date
	if code, pr := pushAs(t, s, li.AccessToken, ok, bad); code != 200 || pr.Results[0].Status != dsync.StatusApplied ||
		pr.Results[1].Status != dsync.StatusRejected {
		t.Fatalf("push: %d %+v", code, pr.Results)
	}
	editConflict(t, s, li.AccessToken, ok)
	code, body := s.send(t, "GET", "/v1/pull?cursor=0&limit=1", li.AccessToken, "", nil)
	if code != 200 {
		t.Fatalf("pull: %d %s", code, body)
	}
	if code, body := s.send(t, "POST", "/v1/admin/import/registrations", admin.AccessToken, "text/csv",
		strings.NewReader("姓名,性别,出生日期,身份证号,联系电话,选区\n杨倩,女,1980-01-01,,13912345678,430102001001\n")); code != 200 {
		t.Fatalf("import: %d %s", code, body)
	}
	// A request whose path holds personal data, unmatched by any route.
	s.send(t, "GET", "/v1/users/"+id+"/李碧辉", admin.AccessToken, "", nil)

	after := scrape(t, s)
	for _, m := range []struct {
		series string
		moved  float64
	}{
		{`dengji_push_changes_total{code="",status="applied"}`, 2},
		{`dengji_push_changes_total{code="",status="conflict"}`, 1},
		{`dengji_push_changes_total{code="validation",status="rejected"}`, 1},
		{`dengji_pushes_total{status="200"}`, 2},
		{`dengji_conflicts_opened_total`, 1},
		{`dengji_pull_requests_total`, 1},
		{`dengji_http_requests_total{method="POST",route="/v1/push",status="200"}`, 2},
		{`dengji_http_requests_total{method="POST",route="/v1/admin/import/registrations",status="200"}`, 1},
		{`dengji_http_requests_total{method="GET",route="unmatched",status="404"}`, 1},
		{`dengji_http_request_duration_seconds_count{method="GET",route="/v1/pull"}`, 1},
	} {
		if got := metric(after, m.series) - metric(before, m.series); got != m.moved {
			t.Errorf("%s moved by %v, want %v", m.series, got, m.moved)
		}
	}
	if metric(after, "dengji_pull_bytes_total") < float64(len(body)) {
		t.Errorf("pull bytes %v < the page's %d", metric(after, "dengji_pull_bytes_total"), len(body))
	}
	for _, series := range []string{"dengji_store_size_bytes", "dengji_feed_sequence", "go_goroutines", "dengji_dedup_running"} {
		if !strings.Contains(after, "\n"+series+" ") {
			t.Errorf("no %s in the metrics", series)
		}
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) < 7 {
		t.Fatalf("%d log lines", len(lines))
	}
	for _, line := range lines {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line not JSON: %s", line)
		}
		if entry["msg"] == "http" && len(fmt.Sprint(entry["request_id"])) < 8 {
			t.Errorf("log line without a request ID: %s", line)
		}
		for _, p := range personal {
			if strings.Contains(line, p) || strings.Contains(line, strconv.QuoteToASCII(p)[1:len(strconv.QuoteToASCII(p))-1]) {
				t.Errorf("personal data %q in a log line: %s", p, line)
			}
		}
	}
	for _, m := range personal {
		if strings.Contains(after, m) {
			t.Errorf("personal data %q in the metrics", m)
		}
	}
}

// The request ID a proxy sent is answered back; a strange one is replaced.
func TestObserve_RequestID(t *testing.T) {
	s := startServer(t)
	for sent, kept := range map[string]bool{"proxy-id-12345678": true, "bad id with spaces": false, "": false} {
		req, _ := http.NewRequest("GET", s.URL()+"/v1/me", nil)
		req.Header.Set("X-Request-ID", sent)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		got := resp.Header.Get("X-Request-ID")
		if (got == sent) != kept || len(got) < 8 {
			t.Errorf("sent %q, answered %q", sent, got)
		}
	}
}

func TestObserve_Health(t *testing.T) {
	s := startServer(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(s.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
	s.Close()
	rec := httptest.NewRecorder()
	s.Readyz(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("readyz of a closed server: %d", rec.Code)
	}
}

// editConflict pushes two edits of ok's record's name from the same base, as
// ok's device: the second is a conflict, whose ID it returns.
func editConflict(t *testing.T, s *testServer, token string, ok dsync.Change) string {
	t.Helper()
	edit := func(n uint64, name string) dsync.Change {
		return dsync.Change{ID: fmt.Sprintf("%s-e%d", ok.Record, n), Device: ok.Device, Counter: ok.Counter + n, Record: ok.Record,
			Type: ok.Type, District: ok.District, Op: dsync.OpUpdate, HLC: nowHLC(),
			Set: map[string]json.RawMessage{"name": json.RawMessage(strconv.Quote(name))}, Base: map[string]string{"name": ok.ID}}
	}
	code, pr := pushAs(t, s, token, edit(1000, "李碧晖"), edit(1001, "黎碧辉"))
	if code != 200 || pr.Results[1].Status != dsync.StatusConflict {
		t.Fatalf("edits: %d %+v", code, pr.Results)
	}
	return pr.Results[1].Conflicts[0].ID
}

// validRegistration is a create of a registration the model accepts, as
// device phone-1 in 430102001001.
func validRegistration(t *testing.T, id string, n uint64) dsync.Change {
	reg := model.Registration{Name: "李碧辉", Gender: "M", BirthDate: "1990-01-02", IDNumber: rollID(t, "430102", "19900102", 11),
		Phone: "13800138000", HouseholdAddress: "长沙市芙蓉区五一大道1号", Channel: "door"}
	return dsync.Change{ID: fmt.Sprintf("phone-1-%d", n), Device: "phone-1", Counter: n, Record: id, Type: "registration",
		District: "430102001001", Op: dsync.OpCreate, HLC: nowHLC(), Set: reg.Fields()}
}
