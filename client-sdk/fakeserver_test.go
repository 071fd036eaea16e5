package sdk

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	dsync "github.com/dengji/dengji/sync"
)

// fakeServer is an in-memory STAND-IN for the Dengji server, implementing
// login, refresh, push and pull with dsync.Merge so the SDK's own logic can be
// tested in isolation. It is not the server: the end-to-end tests against the
// real server live with the server.
type fakeServer struct {
	*httptest.Server
	t testing.TB

	mu       sync.Mutex
	records  map[string]*dsync.Record
	results  map[string]dsync.Result
	seq      uint64
	tokenGen int
	access   map[string]bool // valid access tokens
	refresh  map[string]bool // valid refresh tokens
	// Fault injection.
	fail    map[string][]int           // path → statuses to answer the next requests with
	expire  bool                       // the access token has expired
	expired int                        // requests refused as token_expired
	revoked bool                       // the device is revoked
	reject  func(*dsync.Change) string // a rejection code, "" to accept
	lose    int                        // pushes to process but answer 502, as if the answer was lost
	// Observations.
	decided  map[string]dsync.Conflict // conflicts a coordinator has decided, by ID
	requests map[string]int            // by path
	pulls    []string                  // raw queries of pulls
	gzipped  int                       // push bodies that came compressed
	password string                    // "" is "secret"
	oneTime  bool                      // the password must be changed at sign-in
}

func newFakeServer(t testing.TB) *fakeServer {
	s := &fakeServer{
		t: t, records: map[string]*dsync.Record{}, results: map[string]dsync.Result{},
		fail: map[string][]int{}, requests: map[string]int{}, decided: map[string]dsync.Conflict{},
		access: map[string]bool{}, refresh: map[string]bool{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/auth/login", s.login)
	mux.HandleFunc("POST /v1/auth/refresh", s.refreshTokens)
	mux.HandleFunc("POST /v1/auth/logout", s.logout)
	mux.HandleFunc("POST /v1/me/password", s.changePassword)
	mux.HandleFunc("POST /v1/push", s.authed(s.push))
	mux.HandleFunc("GET /v1/pull", s.authed(s.pull))
	mux.HandleFunc("POST /v1/conflicts/status", s.authed(s.conflictStatus))
	mux.HandleFunc("GET /v1/rules", s.authed(s.deviceRules))
	s.Server = httptest.NewServer(s.faults(mux))
	t.Cleanup(s.Close)
	return s
}

func (s *fakeServer) failNext(path string, statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[path] = append(s.fail[path], statuses...)
}

func (s *fakeServer) faults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests[r.URL.Path]++
		q := s.fail[r.URL.Path]
		var status int
		if len(q) > 0 {
			status, s.fail[r.URL.Path] = q[0], q[1:]
		}
		s.mu.Unlock()
		if status != 0 {
			apiError(w, status, "unavailable", "injected failure")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(dsync.ErrorBody{Error: dsync.APIError{Code: code, Message: msg}})
}

func (s *fakeServer) issueTokens(w http.ResponseWriter) {
	s.tokenGen++
	tok := tokenResponse{
		AccessToken:  "access-" + strconv.Itoa(s.tokenGen),
		RefreshToken: "refresh-" + strconv.Itoa(s.tokenGen),
		ExpiresIn:    900,
	}
	s.access[tok.AccessToken], s.refresh[tok.RefreshToken] = true, true
	s.expire = false
	json.NewEncoder(w).Encode(tok)
}

func (s *fakeServer) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	err := json.NewDecoder(r.Body).Decode(&req)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil || req.Password != s.passwordLocked() || req.DeviceID == "" {
		apiError(w, 401, "bad_credentials", "wrong user name or password")
		return
	}
	if s.oneTime {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(403)
		json.NewEncoder(w).Encode(dsync.ErrorBody{Error: dsync.APIError{Code: CodePasswordChangeRequired,
			Message: "change the password", Details: json.RawMessage(`{"password_token":"pwc"}`)}})
		return
	}
	s.issueTokens(w)
}

func (s *fakeServer) refreshTokens(w http.ResponseWriter, r *http.Request) {
	var req refreshRequest
	json.NewDecoder(r.Body).Decode(&req)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.revoked:
		apiError(w, 401, CodeDeviceRevoked, "device revoked")
	case !s.refresh[req.RefreshToken]:
		apiError(w, 401, "invalid_token", "unknown refresh token")
	default:
		delete(s.refresh, req.RefreshToken) // refresh tokens rotate
		s.issueTokens(w)
	}
}

func (s *fakeServer) logout(w http.ResponseWriter, r *http.Request) {
	var req refreshRequest
	json.NewDecoder(r.Body).Decode(&req)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.refresh, req.RefreshToken)
	w.WriteHeader(204)
}

// changePassword accepts an access token or the password-change token
// "pwc"; the password is "secret" until changed.
func (s *fakeServer) changePassword(w http.ResponseWriter, r *http.Request) {
	var req passwordRequest
	json.NewDecoder(r.Body).Decode(&req)
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !s.access[tok] && tok != "pwc":
		apiError(w, 401, "unauthorized", "sign in first")
	case req.Old != s.passwordLocked():
		apiError(w, 401, "invalid_credentials", "wrong password")
	default:
		s.password = req.New
		s.oneTime = false
		s.issueTokens(w)
	}
}

func (s *fakeServer) passwordLocked() string {
	if s.password == "" {
		return "secret"
	}
	return s.password
}

func (s *fakeServer) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		ok := s.access[tok]
		expired, revoked := s.expire, s.revoked
		if ok && expired && !revoked {
			s.expired++
		}
		s.mu.Unlock()
		switch {
		case revoked:
			apiError(w, 401, CodeDeviceRevoked, "device revoked")
		case !ok:
			apiError(w, 401, "invalid_token", "bad token")
		case expired:
			apiError(w, 401, CodeTokenExpired, "token expired")
		default:
			h(w, r)
		}
	}
}

func (s *fakeServer) push(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			apiError(w, 400, "bad_request", err.Error())
			return
		}
		body = zr
		s.mu.Lock()
		s.gzipped++
		s.mu.Unlock()
	}
	var req dsync.PushRequest
	b, err := io.ReadAll(body)
	if err == nil && r.URL.Query().Get("format") == dsync.FormatColumns {
		req, err = dsync.DecodeColumns(b, func(b []byte, v any) error { return json.Unmarshal(b, v) })
	} else if err == nil {
		err = json.Unmarshal(b, &req)
	}
	if err != nil {
		apiError(w, 400, "bad_request", err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := dsync.PushResponse{Results: make([]dsync.Result, len(req.Changes))}
	for i := range req.Changes {
		resp.Results[i] = s.pushOne(&req.Changes[i])
	}
	if s.lose > 0 {
		s.lose--
		apiError(w, 502, "bad_gateway", "answer lost")
		return
	}
	json.NewEncoder(w).Encode(resp)
}

func (s *fakeServer) pushOne(ch *dsync.Change) dsync.Result {
	if prev, ok := s.results[ch.ID]; ok {
		prev.Status = dsync.StatusDuplicate
		return prev
	}
	ch.Author = "registrar"
	res := s.merge(ch)
	s.results[ch.ID] = res
	return res
}

func (s *fakeServer) merge(ch *dsync.Change) dsync.Result {
	if s.reject != nil {
		if code := s.reject(ch); code != "" {
			return dsync.Result{Change: ch.ID, Status: dsync.StatusRejected, Code: code, Reason: "refused by test"}
		}
	}
	next, out := dsync.Merge(s.records[ch.Record], ch)
	res := dsync.Result{Change: ch.ID, Status: out.Status, Applied: out.Applied, Conflicts: out.Conflicts, Code: out.Code, Reason: out.Reason}
	if out.Status == dsync.StatusRejected {
		return res
	}
	s.seq++
	res.Seq = s.seq
	if out.Changed {
		next.Seq = s.seq
		s.records[ch.Record] = next
	}
	return res
}

func (s *fakeServer) pull(w http.ResponseWriter, r *http.Request) {
	cursor, _ := strconv.ParseUint(r.URL.Query().Get("cursor"), 10, 64)
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pulls = append(s.pulls, r.URL.RawQuery)
	var feed []*dsync.Record
	for _, rec := range s.records {
		if rec.Seq > cursor {
			feed = append(feed, rec)
		}
	}
	sort.Slice(feed, func(i, j int) bool { return feed[i].Seq < feed[j].Seq })
	resp := dsync.PullResponse{Cursor: cursor, Records: []dsync.Record{}}
	if len(feed) > limit {
		feed, resp.More = feed[:limit], true
	}
	for _, rec := range feed {
		resp.Cursor = rec.Seq
		if cursor == 0 && rec.Deleted() {
			continue
		}
		resp.Records = append(resp.Records, *rec)
	}
	if r.URL.Query().Get("format") != dsync.FormatCompact {
		json.NewEncoder(w).Encode(resp)
		return
	}
	b := []byte(`{"records":[`)
	for i := range resp.Records {
		if i > 0 {
			b = append(b, ',')
		}
		b = resp.Records[i].AppendCompactJSON(b)
	}
	fmt.Fprintf(w, "%s],\"cursor\":%d,\"more\":%v}", b, resp.Cursor, resp.More)
}

// put stores a record as if another device had created it.
func (s *fakeServer) put(typ, district string, fields map[string]string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := fmt.Sprintf("srv-%d", len(s.records)+1)
	ch := &dsync.Change{ID: id + "-c", Device: "other", Counter: 1, Record: id, Type: typ, District: district, Op: dsync.OpCreate, Set: jsonFields(fields)}
	s.merge(ch)
	return id
}

func (s *fakeServer) record(id string) *dsync.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records[id]
}

func (s *fakeServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

// jsonFields turns string values into JSON strings.
func jsonFields(m map[string]string) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		b, _ := json.Marshal(v)
		out[k] = b
	}
	return out
}

// deviceRules answers every district in scope and no election, with a
// constant ETag, so a device asks with If-None-Match and gets 304 after the
// first time.
func (s *fakeServer) deviceRules(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("ETag", `"fake"`)
	if r.Header.Get("If-None-Match") == `"fake"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	json.NewEncoder(w).Encode(dsync.Rules{AllDistricts: true, Scope: []string{}, Districts: []dsync.RulesDistrict{}})
}

// conflictStatus answers the decided conflicts among those asked about.
func (s *fakeServer) conflictStatus(w http.ResponseWriter, r *http.Request) {
	var req struct {
		IDs         []string `json:"ids"`
		DecidedOnly bool     `json:"decided_only"`
	}
	body := io.Reader(r.Body)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		body = zr
	}
	if err := json.NewDecoder(body).Decode(&req); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []dsync.Conflict{}
	for _, id := range req.IDs {
		if c, ok := s.decided[id]; ok {
			out = append(out, c)
		}
	}
	json.NewEncoder(w).Encode(map[string]any{"conflicts": out})
}
