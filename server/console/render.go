package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/api"
	dsync "github.com/dengji/dengji/sync"
)

// page is what every template gets: the request's user and language, the
// CSRF token of its forms, and the page's own data.
type page struct {
	Title string
	Nav   string // the menu entry to mark
	User  string
	Admin bool
	En    bool
	CSRF  string
	Path  string // the request's path and query, for the language switch
	Data  any
}

// parsePages parses every page with the layout, once per language: the
// template function t picks the Chinese or the English of each text.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, en := range []bool{false, true} {
		for _, n := range names {
			base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
			if base == "layout" {
				continue
			}
			t, err := template.New(base).Funcs(funcs(en)).ParseFS(templateFS, "templates/layout.html", n)
			if err != nil {
				return nil, fmt.Errorf("console: template %s: %w", n, err)
			}
			out[langKey(en)+base] = t
		}
	}
	return out, nil
}

func langKey(en bool) string {
	if en {
		return "en/"
	}
	return "zh/"
}

// funcs are the template functions of one language.
func funcs(en bool) template.FuncMap {
	pick := func(zh, english string) string {
		if en {
			return english
		}
		return zh
	}
	return template.FuncMap{
		"t": pick,
		"label": func(e model.Enum, code string) string {
			zh, english, ok := e.Label(code)
			if !ok {
				return code
			}
			return pick(zh, english)
		},
		"date":    func(t time.Time) string { return fmtTime(t) },
		"hlcDate": func(h dsync.HLC) string { return fmtHLC(h) },
		"value":   showValue,
		"add":     func(a, b int) int { return a + b },
		"field":   func(f string) string { return fieldLabel(f, en) },
		"roles":   func() []string { return []string{"registrar", "coordinator", "admin"} },
		"enums": func() map[string]model.Enum {
			return map[string]model.Enum{"gender": model.Genders, "channel": model.RegistrationChannels,
				"status": model.Statuses, "addition": model.AdditionReasons, "removal": model.RemovalReasons,
				"category": model.Categories, "outcome": model.ContactOutcomes, "evidence": model.Evidences}
		},
	}
}

// china is the time zone dates are shown in.
var china = time.FixedZone("CST", 8*3600)

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(china).Format("2006-01-02 15:04")
}

func fmtHLC(h dsync.HLC) string {
	if h == 0 {
		return ""
	}
	return fmtTime(h.Time())
}

// showValue is a field value as a person reads it: a JSON string without
// its quotes, null as empty.
func showValue(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	if len(v) == 0 || string(v) == "null" {
		return ""
	}
	return string(v)
}

// render writes a page.
func (c *Console) render(q *request, status int, name, nav, title string, data any) {
	p := page{Title: title, Nav: nav, En: q.en, CSRF: q.csrf, Path: q.r.URL.RequestURI(), Data: data}
	if q.user != nil {
		p.User, p.Admin = q.user.Name, q.user.Role == "admin"
	}
	var buf bytes.Buffer
	if err := c.pages[langKey(q.en)+name].ExecuteTemplate(&buf, "layout", p); err != nil {
		c.cfg.Logger.Error("console: render", "page", name, "err", err)
		http.Error(q.w, "服务器内部错误 / internal error", 500)
		return
	}
	q.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	q.w.WriteHeader(status)
	q.w.Write(buf.Bytes())
}

// wantsJSON reports a fetch of the console's script rather than a page.
func wantsJSON(r *http.Request) bool {
	return r.Header.Get(csrfHeader) != "" || strings.Contains(r.Header.Get("Accept"), "application/json")
}

// sendJSON answers a fetch.
func sendJSON(q *request, status int, v any) {
	q.w.Header().Set("Content-Type", "application/json; charset=utf-8")
	q.w.WriteHeader(status)
	json.NewEncoder(q.w).Encode(v)
}

// fail answers a refusal: JSON {"error":{code,message}} to a fetch, an error
// page to a browser; msg is Chinese, then English.
func (c *Console) fail(q *request, status int, code, msg string) {
	if wantsJSON(q.r) {
		sendJSON(q, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
		return
	}
	c.render(q, status, "error", "", "出错 / Error", map[string]string{"Code": code, "Message": msg})
}

// refuse is fail with the message in its two languages.
func (c *Console) refuse(q *request, status int, code, zh, en string) {
	c.fail(q, status, code, zh+" / "+en)
}

// failWith answers err as the API would (api.Describe: the same errors of
// the same shared functions get the same codes); a 500 is logged, without
// personal data (store and model errors name keys and codes, not values).
func (c *Console) failWith(q *request, err error) {
	var p *problem
	if errors.As(err, &p) {
		c.fail(q, p.status, p.code, p.msg)
		return
	}
	status, code, msg := api.Describe(err)
	if status >= 500 {
		c.cfg.Logger.Error("console", "path", q.r.URL.Path, "err", err)
	}
	c.fail(q, status, code, msg)
}

// problem is a refusal of the console's own: a field of a form.
type problem struct {
	status    int
	code, msg string
}

func (p *problem) Error() string { return p.code + ": " + p.msg }

// badField is a 400 naming the form field.
func badField(field, zh, en string) *problem {
	return &problem{400, "bad_request", "字段 " + field + "：" + zh + " / field " + field + ": " + en}
}

// internal answers 500 and logs the error.
func (c *Console) internal(q *request, err error) { c.failWith(q, err) }
