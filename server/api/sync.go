package api

import (
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// push merges a device's batch of changes. Every change must be in the
// caller's districts, or the whole batch is refused with 403 and nothing is
// stored.
func (s *Server) push(c *gin.Context) {
	d := device(c)
	if d == nil {
		fail(c, ErrDeviceRequired)
		return
	}
	body, err := readBody(c)
	if err != nil {
		fail(c, err)
		return
	}
	req, ok := dsync.ParsePushRequest(body)
	if !ok {
		// Outside the fast path's shape: bound the structure before a
		// general decoder builds it.
		if err := dsync.CheckPushShape(body); err != nil {
			fail(c, err)
			return
		}
		if err := decode(body, &req); err != nil {
			fail(c, err)
			return
		}
	}
	if len(req.Changes) > dsync.MaxPushBatch {
		fail(c, ErrTooLarge)
		return
	}
	u := user(c)
	for i := range req.Changes {
		if !u.InScope(req.Changes[i].District) {
			fail(c, ErrOutOfScope)
			return
		}
	}
	results, err := store.Push(c, s.store, store.PushRequest{
		Device: d.ID, Author: u.Name, Changes: req.Changes, Validate: s.cfg.Validator,
		InScope: u.InScope, MayRestore: u.Role == store.RoleCoordinator || u.Role == store.RoleAdmin,
		MaxAhead: s.cfg.MaxClockAhead})
	if err != nil {
		fail(c, err)
		return
	}
	s.metrics.pushed(results)
	respond(c, 200, dsync.PushResponse{Results: results})
}

// pull pages through the feed of the caller's districts, or of a subset named
// with ?district=a&district=b. A cursor beyond the feed's end (a server
// restored from an older backup) reads from the end: the device gets what
// comes next, and no cursor arithmetic wraps to the start.
func (s *Server) pull(c *gin.Context) {
	cursor, err1 := strconv.ParseUint(c.DefaultQuery("cursor", "0"), 10, 64)
	limit, err2 := strconv.Atoi(c.DefaultQuery("limit", "1000"))
	if err1 != nil || err2 != nil || limit < 1 || limit > dsync.MaxPullPage {
		fail(c, ErrBadRequest)
		return
	}
	districts, err := s.scopeFilter(c)
	if err != nil {
		fail(c, err)
		return
	}
	if cursor, err = s.clampCursor(c, cursor); err != nil {
		fail(c, err)
		return
	}
	page, err := store.Pull(c, s.store, districts, cursor, limit)
	if err != nil {
		fail(c, err)
		return
	}
	respondJSON(c, 200, page.AppendJSON(nil))
}

// clampCursor brings a cursor above the feed's highest sequence down to it.
func (s *Server) clampCursor(c *gin.Context, cursor uint64) (uint64, error) {
	if cursor == 0 {
		return 0, nil
	}
	var high uint64
	err := s.store.View(c, func(tx store.Tx) error {
		var err error
		high, err = tx.HighSeq()
		return err
	})
	return min(cursor, high), err
}

// maxDistrictParams bounds the ?district= values of one request.
const maxDistrictParams = 100

// scopeFilter narrows the caller's scope to the districts asked for with
// ?district=, each a district or an area (a code prefix) standing for its
// districts that hold records; each is taken once. Asking for one not
// wholly in scope is refused.
func (s *Server) scopeFilter(c *gin.Context) ([]string, error) {
	u, asked := user(c), c.QueryArray("district")
	if len(asked) == 0 {
		return u.Scope(), nil
	}
	if len(asked) > maxDistrictParams {
		return nil, ErrBadRequest
	}
	asked = slices.Compact(slices.Sorted(slices.Values(asked)))
	for _, d := range asked {
		if d == "" || len(d) > maxParamLen {
			return nil, ErrBadRequest
		}
		if !u.InScope(d) {
			return nil, ErrOutOfScope
		}
	}
	var out []string
	err := s.store.View(c, func(tx store.Tx) error {
		var err error
		out, err = store.DistrictsUnder(tx, asked)
		return err
	})
	return out, err // never nil when err is nil: nil would mean every district
}

// maxParamLen bounds one query or path parameter (a district code, an ID, a
// cursor).
const maxParamLen = 128
