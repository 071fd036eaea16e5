package api

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

type conflictsResponse struct {
	Conflicts []dsync.Conflict `json:"conflicts"`
}

// listConflicts lists conflicts in the caller's districts:
// ?status=open|resolved&district=…&after=ID&limit=N.
func (s *Server) listConflicts(c *gin.Context) {
	districts, limit, err := s.listParams(c)
	if err != nil {
		fail(c, err)
		return
	}
	status := dsync.ConflictStatus(c.Query("status"))
	if status != "" && status != dsync.ConflictOpen && status != dsync.ConflictResolved {
		fail(c, ErrBadRequest)
		return
	}
	q := store.ConflictQuery{Districts: districts, Status: status, After: c.Query("after"), Limit: limit}
	var out []dsync.Conflict
	err = s.store.View(c, func(tx store.Tx) error {
		out, err = tx.Conflicts(q)
		return err
	})
	if err != nil {
		fail(c, err)
		return
	}
	if out == nil {
		out = []dsync.Conflict{}
	}
	respond(c, 200, conflictsResponse{Conflicts: out})
}

// listParams reads the district filter (within the caller's scope) and the
// page size of a review list.
func (s *Server) listParams(c *gin.Context) (districts []string, limit int, err error) {
	districts, err = s.scopeFilter(c)
	if err != nil {
		return nil, 0, err
	}
	limit, err = strconv.Atoi(c.DefaultQuery("limit", "200"))
	if err != nil || limit < 1 || limit > 1000 || len(c.Query("after")) > maxParamLen {
		return nil, 0, ErrBadRequest
	}
	return districts, limit, nil
}

type resolveRequest struct {
	Choice string          `json:"choice"`
	Value  json.RawMessage `json:"value,omitempty"`
}

// resolveConflict records a coordinator's decision; when it changes the record,
// the change reaches devices at their next pull. A conflict outside the
// caller's districts is answered as one that does not exist.
func (s *Server) resolveConflict(c *gin.Context) {
	var req resolveRequest
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	u := user(c)
	conflict, err := store.ResolveConflict(actor(c), s.store, store.Resolve{
		Conflict: c.Param("id"), Choice: req.Choice, Value: req.Value, By: u.Name, Validate: s.cfg.Validator,
		Allow: conflictInScope(u)})
	if err != nil {
		fail(c, err)
		return
	}
	respond(c, 200, conflict)
}

// conflictStatusRequest names conflicts a device holds.
type conflictStatusRequest struct {
	IDs []string `json:"ids"`
	// DecidedOnly leaves out the conflicts still open: a device asking
	// about the thousands it holds is told only what changed.
	DecidedOnly bool `json:"decided_only,omitempty"`
}

// maxStatusIDs bounds one status request.
const maxStatusIDs = 1000

// conflictStatus answers the current state of the named conflicts that lie in
// the caller's districts, so a registrar's device learns a coordinator's
// decision on the edits it made. Unknown or foreign IDs are left out.
func (s *Server) conflictStatus(c *gin.Context) {
	var req conflictStatusRequest
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	if len(req.IDs) > maxStatusIDs {
		fail(c, ErrTooLarge)
		return
	}
	u := user(c)
	out := []dsync.Conflict{}
	err := s.store.View(c, func(tx store.Tx) error {
		for _, id := range req.IDs {
			cf, err := tx.Conflict(id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if u.InScope(cf.District) && (!req.DecidedOnly || cf.Status != dsync.ConflictOpen) {
				out = append(out, *cf)
			}
		}
		return nil
	})
	if err != nil {
		fail(c, err)
		return
	}
	respond(c, 200, conflictsResponse{Conflicts: out})
}

// conflictInScope lets u act on a conflict of its districts only; another
// is not found, as one that does not exist.
func conflictInScope(u *store.User) func(*dsync.Conflict) error {
	return func(cf *dsync.Conflict) error {
		if !u.InScope(cf.District) {
			return ErrNotFound
		}
		return nil
	}
}
