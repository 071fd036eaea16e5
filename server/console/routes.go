package console

import (
	"fmt"
	"net/http"
)

// route is a line of the console's route table: its pattern (method and
// path, as http.ServeMux reads them), who may open it, and its handler.
// Every route is registered from here; TestConsole_Routes opens each as
// every kind of caller.
type route struct {
	Pattern string
	Access  access
	handle  func(*Console, *request)
}

var routeTable = []route{
	{"GET /{$}", public, func(c *Console, q *request) { http.Redirect(q.w, q.r, "/console/", http.StatusSeeOther) }},
	{"GET /console/static/", public, nil}, // the embedded CSS and script
	{"GET /console/login", public, (*Console).loginPage},
	{"POST /console/login", public, (*Console).login},
	{"GET /console/password", public, (*Console).passwordPage},
	{"POST /console/password", public, (*Console).changePassword},
	{"GET /console/lang/{lang}", public, (*Console).setLang},
	{"POST /console/logout", reviewer, (*Console).logout},

	{"GET /console/{$}", reviewer, (*Console).overview},
	{"GET /console/conflicts", reviewer, (*Console).conflicts},
	{"GET /console/conflicts/{id}", reviewer, (*Console).conflict},
	{"POST /console/conflicts/{id}/resolve", reviewer, (*Console).resolve},
	{"POST /console/conflicts/{id}/reopen", reviewer, (*Console).reopenConflict},
	{"GET /console/records/{id}", reviewer, (*Console).history},
	{"GET /console/duplicates", reviewer, (*Console).duplicates},
	{"GET /console/duplicates/{id}", reviewer, (*Console).duplicate},
	{"POST /console/duplicates/{id}/decide", reviewer, (*Console).decide},
	{"POST /console/duplicates/{id}/reopen", reviewer, (*Console).reopenDuplicate},
	{"GET /console/verification", reviewer, (*Console).verification},
	{"POST /console/verification/{id}", reviewer, (*Console).correctID},
	{"GET /console/roll", reviewer, (*Console).rollPage},
	{"GET /console/roll/export", reviewer, (*Console).exportRoll},
	{"GET /console/roll/stats", reviewer, (*Console).exportStats},

	{"POST /console/roll/import", admin, (*Console).startImport},
	{"GET /console/roll/import/{id}", admin, (*Console).importStatus},
	{"GET /console/roll/import/{id}/report", admin, (*Console).importReport},
	{"GET /console/admin/users", admin, (*Console).users},
	{"POST /console/admin/users", admin, (*Console).addUser},
	{"POST /console/admin/users/{name}", admin, (*Console).editUser},
	{"POST /console/admin/users/{name}/{action}", admin, (*Console).userAction},
	{"GET /console/admin/devices", admin, (*Console).devices},
	{"POST /console/admin/devices/{id}/revoke", admin, (*Console).revoke},
	{"GET /console/admin/dedup", admin, (*Console).dedupPage},
	{"POST /console/admin/dedup", admin, (*Console).startDedup},
	{"GET /console/admin/dedup/status", admin, (*Console).dedupStatus},
}

// Routes lists the console's routes and who may open each, for tests.
func Routes() []struct {
	Pattern string
	Access  string
} {
	out := make([]struct{ Pattern, Access string }, len(routeTable))
	for i, r := range routeTable {
		out[i].Pattern, out[i].Access = r.Pattern, [...]string{"", "public", "reviewer", "admin"}[r.Access]
	}
	return out
}

func (c *Console) register() (err error) {
	defer func() {
		if p := recover(); p != nil { // a pattern ServeMux refuses
			err = fmt.Errorf("console: route table: %v", p)
		}
	}()
	for _, r := range routeTable {
		if r.handle == nil {
			c.mux.Handle(r.Pattern, staticFiles())
			continue
		}
		c.mux.Handle(r.Pattern, c.wrap(r.Access, r.handle))
	}
	c.mux.Handle("/", c.wrap(public, func(c *Console, q *request) {
		c.refuse(q, http.StatusNotFound, "not_found", "找不到该页面", "no such page")
	}))
	return nil
}
