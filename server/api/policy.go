package api

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/dengji/dengji/server/store"
)

// Access is who may call a route. A route's guards (the middleware that
// refuses other callers) are made from it, so a route cannot be registered
// without saying who may call it.
type Access int

const (
	// Anyone: no token needed, and a token sent is ignored; the body
	// carries whatever proves the caller (a password, a refresh token).
	Anyone Access = iota + 1
	// OwnPassword: an access token, or the password-change token a
	// sign-in with a one-time password answers; the handler checks either
	// (passwordClaims), the user and device as they are now.
	OwnPassword
	// SignedIn: an access token of an enabled user, from a device not
	// revoked (401 otherwise).
	SignedIn
	// EnrolledDevice: SignedIn, with a token issued to an enrolled device
	// (403 device_required otherwise).
	EnrolledDevice
	// Reviewer: SignedIn as a coordinator or an admin (403 forbidden
	// otherwise).
	Reviewer
	// AdminOnly: SignedIn as an admin (403 forbidden otherwise).
	AdminOnly
)

func (a Access) String() string {
	switch a {
	case Anyone:
		return "anyone"
	case OwnPassword:
		return "signed in or password-change token"
	case SignedIn:
		return "signed in"
	case EnrolledDevice:
		return "enrolled device"
	case Reviewer:
		return "coordinator or admin"
	case AdminOnly:
		return "admin"
	}
	return fmt.Sprintf("Access(%d)", int(a))
}

// ScopeBy says how a route is confined to the caller's districts (分片包干).
// An admin's scope is every district.
type ScopeBy int

const (
	// Unscoped: the route is about no district (sign-in, accounts,
	// devices, imports, the duplicate check's runs).
	Unscoped ScopeBy = iota
	// ByQuery: a query parameter names districts or areas; each must lie
	// wholly in the caller's scope (403 out_of_scope). Without it, the
	// caller's districts, where the route allows that.
	ByQuery
	// ByBody: a body field names each district; all must be in scope, or
	// the request is refused whole (403 out_of_scope), nothing done.
	ByBody
	// ByObject: the object a path parameter names has districts; one with
	// none of them in scope is not found (404), like one that does not
	// exist; one with some but not all is 403 out_of_scope.
	ByObject
	// InAnswer: the answer holds only what lies in the caller's districts;
	// nothing is refused, the rest is left out.
	InAnswer
	// PerItem: a body field names each item's district; an item outside the
	// caller's scope is refused alone in the answer (out_of_scope) and the
	// rest is done (a device's push: no batch fails for one change).
	PerItem
)

func (b ScopeBy) String() string {
	switch b {
	case Unscoped:
		return "unscoped"
	case ByQuery:
		return "by query"
	case ByBody:
		return "by body"
	case ByObject:
		return "by object"
	case InAnswer:
		return "in answer"
	case PerItem:
		return "per item"
	}
	return fmt.Sprintf("ScopeBy(%d)", int(b))
}

// Scope is how a route is confined to districts, and what names them.
type Scope struct {
	By    ScopeBy
	Field string // the query parameter, body field or path parameter; "" for none
}

func (s Scope) String() string {
	if s.Field == "" {
		return s.By.String()
	}
	return s.By.String() + " " + s.Field
}

var unscoped = Scope{}

func byQuery(param string) Scope  { return Scope{ByQuery, param} }
func byBody(field string) Scope   { return Scope{ByBody, field} }
func byObject(param string) Scope { return Scope{ByObject, param} }
func inAnswer(field string) Scope { return Scope{InAnswer, field} }
func perItem(field string) Scope  { return Scope{PerItem, field} }

// Policy is a route's declared access: who may call it and how it is
// confined to districts.
type Policy struct {
	Method string
	Path   string // the full path, /v1/… as gin has it
	Access Access
	Scope  Scope
}

// route is a line of the route table: a policy and its handler.
type route struct {
	Policy
	handle func(*Server, *gin.Context)
}

// Policies is the declared policy of every route the server has, in the
// order of the route table.
func Policies() []Policy {
	out := make([]Policy, len(routeTable))
	for i, r := range routeTable {
		out[i] = r.Policy
		out[i].Path = apiPrefix + r.Path
	}
	return out
}

// guards are the middleware a's callers pass before the handler.
func (s *Server) guards(a Access) []gin.HandlerFunc {
	switch a {
	case Anyone, OwnPassword:
		return nil
	case SignedIn:
		return []gin.HandlerFunc{s.authenticate}
	case EnrolledDevice:
		return []gin.HandlerFunc{s.authenticate, requireDevice}
	case Reviewer:
		return []gin.HandlerFunc{s.authenticate, requireRole(store.RoleCoordinator, store.RoleAdmin)}
	case AdminOnly:
		return []gin.HandlerFunc{s.authenticate, requireRole(store.RoleAdmin)}
	}
	panic(fmt.Sprintf("api: no guards for access %d", int(a))) // a table entry without an Access
}

// requireDevice lets through only a token issued to an enrolled device.
func requireDevice(c *gin.Context) {
	if device(c) == nil {
		fail(c, ErrDeviceRequired)
		return
	}
	c.Next()
}

// register adds every route of the table to e, each behind the guards its
// access names.
func (s *Server) register(e *gin.Engine) {
	for _, r := range routeTable {
		h := r.handle
		e.Handle(r.Method, apiPrefix+r.Path, append(s.guards(r.Access), func(c *gin.Context) { h(s, c) })...)
	}
}

// checkDeclared reports a route gin has that the table does not declare
// (one added to the engine some other way), and one declared twice: a
// server must not start with a route nobody said who may call.
func checkDeclared(e *gin.Engine) error {
	declared := map[string]bool{}
	for _, p := range Policies() {
		key := p.Method + " " + p.Path
		if declared[key] {
			return fmt.Errorf("api: route %s declared twice", key)
		}
		declared[key] = true
	}
	var extra []string
	for _, ri := range e.Routes() {
		if !declared[ri.Method+" "+ri.Path] {
			extra = append(extra, ri.Method+" "+ri.Path)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return fmt.Errorf("api: routes without a declared policy (declare them in routeTable, server.go): %s",
			strings.Join(extra, ", "))
	}
	return nil
}
