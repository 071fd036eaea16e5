package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/gin-gonic/gin"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/api"
	"github.com/dengji/dengji/server/backup"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore/bolttest"
)

// loadOpenAPI reads the document the server serves, and checks it, its
// examples against its schemas included.
func loadOpenAPI(t *testing.T, s *testServer) *openapi3.T {
	t.Helper()
	resp, err := http.Get(s.URL() + "/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("/v1/openapi.json: %d", resp.StatusCode)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("server/api/openapi.json: %v", err)
	}
	return doc
}

var ginParam = regexp.MustCompile(`:([A-Za-z_]+)`)

func openAPIPath(ginPath string) string { return ginParam.ReplaceAllString(ginPath, "{$1}") }

// TestOpenAPI_Coverage: the document names every route gin has, and none it
// has not, each with the access the route table declares; the README's API
// table agrees with both. A failure says what to add where.
func TestOpenAPI_Coverage(t *testing.T) {
	s := startServer(t)
	doc := loadOpenAPI(t, s)
	policy := map[string]api.Policy{}
	for _, p := range api.Policies() {
		policy[p.Method+" "+p.Path] = p
	}
	routes := map[string]bool{}
	for _, r := range s.Handler().(*gin.Engine).Routes() {
		key := r.Method + " " + r.Path
		routes[key] = true
		item := doc.Paths.Find(openAPIPath(r.Path))
		var op *openapi3.Operation
		if item != nil {
			op = item.GetOperation(r.Method)
		}
		if op == nil {
			t.Errorf("route %s is not in server/api/openapi.json: add under \"paths\": %q: {%q: {\"summary\": …, "+
				"\"x-access\": %q, \"x-scope\": %q, \"security\": [{\"bearer\": []}], \"requestBody\": …, \"responses\": {\"200\": …, \"4xx\": {\"$ref\" or the error schema}}}} "+
				"with an example for each body", key, openAPIPath(r.Path), strings.ToLower(r.Method), policy[key].Access, policy[key].Scope)
			continue
		}
		if got, want := fmt.Sprint(op.Extensions["x-access"]), policy[key].Access.String(); got != want {
			t.Errorf("%s: openapi.json says x-access %q, the route table %q", key, got, want)
		}
		if len(op.Responses.Map()) < 1 {
			t.Errorf("%s: no responses documented", key)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			key := method + " " + ginParam.ReplaceAllString(strings.NewReplacer("{", ":", "}", "").Replace(path), ":$1")
			if !routes[key] {
				t.Errorf("server/api/openapi.json documents %s, which the server does not have: remove it, or add the route to routeTable (server/api/server.go)", key)
			}
		}
	}
	readme := readmeRoutes(t)
	for key := range routes {
		if !readme[key] {
			t.Errorf("route %s is not in the README's API table: add a row | `%s` | who | what |", key, key)
		}
	}
	for key := range readme {
		if !routes[key] {
			t.Errorf("the README's API table names %s, which the server does not have", key)
		}
	}
}

// readmeRoutes reads the routes of the README's API table: rows whose first
// cell holds `METHOD /v1/…` entries, with GET/POST for two methods, a|b for
// two last segments and [?…] or ?… for query strings.
func readmeRoutes(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	entry := regexp.MustCompile("`((?:GET|POST|PUT|PATCH|DELETE)(?:/(?:GET|POST|PUT|PATCH|DELETE))*) (/v1/[^`]*)`")
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, "|")
		if !strings.HasPrefix(line, "| `") || len(cells) < 3 {
			continue
		}
		first := strings.Join(cells[1:len(cells)-3+1], "|") // the first cell may hold a|b itself
		if i := strings.Index(first, "` |"); i >= 0 {
			first = first[:i+1]
		}
		for _, m := range entry.FindAllStringSubmatch(first, -1) {
			path := m[2]
			if i := strings.IndexAny(path, "?["); i >= 0 {
				path = path[:i]
			}
			dir, last := path[:strings.LastIndex(path, "/")+1], path[strings.LastIndex(path, "/")+1:]
			for _, method := range strings.Split(m[1], "/") {
				for _, seg := range strings.Split(last, "|") {
					out[method+" "+dir+seg] = true
				}
			}
		}
	}
	return out
}

// TestOpenAPI_Examples sends the example of every operation of the
// document, as a caller the operation admits, to a real server, and checks
// the request against the document and the answer against the response the
// document gives for its status (an undocumented status fails).
func TestOpenAPI_Examples(t *testing.T) {
	st := bolttest.Open(t)
	gen, _ := backup.Generation(context.Background(), st)
	m, err := backup.NewManager(filepath.Join(t.TempDir(), "backups"), 2, st, gen, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := startServerOn(t, st, func(c *api.Config) {
		c.Validator = store.ModelValidator(model.Rules{})
		c.Backups = m
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	})
	doc := loadOpenAPI(t, s)
	doc.Servers = openapi3.Servers{{URL: s.URL()}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{
		"anyone":                             "",
		"admin":                              s.login(t, "admin", "admin-pass", "").AccessToken,
		"signed in or password-change token": s.login(t, "li", "li-password", "phone-1").AccessToken,
		"signed in":                          s.login(t, "li", "li-password", "phone-1").AccessToken,
		"enrolled device":                    s.login(t, "li", "li-password", "phone-1").AccessToken,
		"coordinator or admin":               s.login(t, "wang", "wang-password", "tab-wang").AccessToken,
	}
	// Things the examples' path parameters name.
	addUser(t, s, "qian", store.RoleRegistrar, "430102001001")
	s.login(t, "qian", "qian-password", "phone-9")
	ok := map[string]bool{} // operations that must succeed
	var resolved string     // the conflict the resolve example resolves
	type opRef struct{ method, path string }
	var ops []opRef
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			ops = append(ops, opRef{method, path})
		}
	}
	// An order in which each example can succeed: districts before the
	// roll, the push before the conflict, the user before what is done to
	// it, the password change last.
	rank := func(o opRef) int {
		for i, p := range []string{"POST /v1/admin/import/districts", "POST /v1/admin/import/registrations", "POST /v1/push",
			"POST /v1/users"} {
			if o.method+" "+o.path == p {
				return i
			}
		}
		switch o.path {
		case "/v1/me/password":
			return 100
		case "/v1/conflicts/{id}/reopen":
			return 11 // the conflict the resolve example resolved
		}
		return 10
	}
	sort.Slice(ops, func(i, j int) bool {
		if rank(ops[i]) != rank(ops[j]) {
			return rank(ops[i]) < rank(ops[j])
		}
		return ops[i].method+ops[i].path < ops[j].method+ops[j].path
	})
	for _, o := range ops {
		op := doc.Paths.Find(o.path).GetOperation(o.method)
		access := fmt.Sprint(op.Extensions["x-access"])
		target, query := o.path, url.Values{}
		for _, pr := range op.Parameters {
			p := pr.Value
			if p.Example == nil {
				continue
			}
			v := fmt.Sprint(p.Example)
			if p.In == "path" {
				target = strings.ReplaceAll(target, "{"+p.Name+"}", url.PathEscape(v))
			} else if p.In == "query" {
				query.Set(p.Name, v)
			}
		}
		switch o.path {
		case "/v1/conflicts/{id}/resolve":
			rec := validRegistration(t, "r-resolve", 500)
			pushAs(t, s, tokens["enrolled device"], rec)
			resolved = editConflict(t, s, tokens["enrolled device"], rec)
			target = "/v1/conflicts/" + resolved + "/resolve"
		case "/v1/conflicts/{id}/reopen":
			target = "/v1/conflicts/" + resolved + "/reopen"
		}
		var body []byte
		ctype := ""
		if rb := op.RequestBody; rb != nil {
			for _, ct := range []string{"application/json", "text/csv"} {
				if mt := rb.Value.Content.Get(ct); mt != nil && mt.Example != nil {
					ctype = ct
					if s, isString := mt.Example.(string); isString && ct != "application/json" {
						body = []byte(s)
					} else {
						body, _ = json.Marshal(mt.Example)
					}
					break
				}
			}
			if ctype == "" {
				t.Errorf("%s %s: no example of its request body", o.method, o.path)
				continue
			}
		}
		u := s.URL() + target
		if len(query) > 0 {
			u += "?" + query.Encode()
		}
		req, _ := http.NewRequest(o.method, u, bytes.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if tk := tokens[access]; tk != "" {
			req.Header.Set("Authorization", "Bearer "+tk)
		}
		route, pathParams, err := router.FindRoute(req)
		if err != nil {
			t.Errorf("%s %s: the document's router: %v", o.method, target, err)
			continue
		}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}}
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("%s %s: the example request does not match the document: %v", o.method, o.path, err)
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ok[o.method+" "+o.path] = resp.StatusCode/100 == 2
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
			Body: io.NopCloser(bytes.NewReader(answer)), Options: in.Options}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			out.Options = &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: true}
		}
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Errorf("%s %s answered %d, not as documented: %v\n%.300s", o.method, target, resp.StatusCode, err, answer)
		}
	}
	if m := scrape(t, s); metric(m, "dengji_backup_last_size_bytes") <= 0 || !strings.Contains(m, "dengji_backup_watermark ") {
		t.Errorf("the backup the example took is not in the metrics")
	}
	// Every example must work as it is written, but those that show a
	// documented refusal because what they name does not exist here.
	refusals := map[string]string{
		"POST /v1/auth/refresh":           "no such refresh token",
		"POST /v1/duplicates/{id}/decide": "no such case",
		"POST /v1/duplicates/{id}/reopen": "no such case",
		"POST /v1/conflicts/{id}/reopen":  "no such conflict",
		"GET /v1/records/{id}/history":    "no such record",
		"POST /v1/notices/{id}/answer":    "no such notice",
	}
	var failed []string
	for key, succeeded := range ok {
		if _, refused := refusals[key]; !succeeded && !refused {
			failed = append(failed, key)
		}
	}
	sort.Strings(failed)
	if len(failed) > 0 {
		t.Errorf("these examples were refused by the real server: %v (make the example work here, or list it in refusals with why)", failed)
	}
}
