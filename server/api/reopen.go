package api

import (
	"github.com/gin-gonic/gin"

	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/dedupjob"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// The API's side of what the console added to the shared packages:
// reopening a decision with a reason, a record's history, editing an
// account. Each calls the function the console calls.

type reopenRequest struct {
	Reason string `json:"reason"`
}

// reopenConflict puts a resolved conflict back in the queue: {reason}.
func (s *Server) reopenConflict(c *gin.Context) {
	var req reopenRequest
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	u := user(c)
	cf, err := store.ReopenConflict(actor(c), s.store, store.Reopen{ID: c.Param("id"), Reason: req.Reason, By: u.Name,
		Allow: conflictInScope(u)})
	if err != nil {
		fail(c, err)
		return
	}
	respond(c, 200, cf)
}

// reopenDuplicate puts a decided case back in the queue: {reason}; every
// member's district must be the caller's.
func (s *Server) reopenDuplicate(c *gin.Context) {
	var req reopenRequest
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	u := user(c)
	dc, err := dedupjob.Reopen(actor(c), s.store, store.Reopen{ID: c.Param("id"), Reason: req.Reason, By: u.Name},
		dedupjob.AllowReviewer(u, ErrOutOfScope))
	if err != nil {
		fail(c, err)
		return
	}
	var out duplicateCase
	err = s.store.View(c, func(tx store.Tx) error {
		out, err = showCase(tx, u, dc)
		return err
	})
	if err != nil {
		fail(c, err)
		return
	}
	respond(c, 200, out)
}

type historyChange struct {
	Seq    uint64        `json:"seq"`
	Change *dsync.Change `json:"change"`
}

// recordHistory lists every accepted change of a record in the caller's
// districts, oldest first: {record, district, changes:[{seq, change}]}.
func (s *Server) recordHistory(c *gin.Context) {
	u := user(c)
	out := gin.H{}
	err := s.store.View(c, func(tx store.Tx) error {
		rec, err := tx.Record(c.Param("id"))
		if err != nil {
			return err
		}
		if !u.InScope(rec.District) {
			return ErrNotFound
		}
		hs, err := store.RecordHistory(tx, rec.ID)
		changes := make([]historyChange, len(hs))
		for i, h := range hs {
			changes[i] = historyChange{h.Seq, h.Change}
		}
		out["record"], out["district"], out["changes"] = rec.ID, rec.District, changes
		return err
	})
	if err != nil {
		fail(c, err)
		return
	}
	respond(c, 200, out)
}

type editUserRequest struct {
	Role      *store.Role `json:"role,omitempty"`
	Districts *[]string   `json:"districts,omitempty"`
	FullName  *string     `json:"full_name,omitempty"`
}

// editUser changes a user's role, scope or display name; a field left out
// stays as it is.
func (s *Server) editUser(c *gin.Context) {
	var req editUserRequest
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	u, err := accounts.EditUser(actor(c), s.store, c.Param("name"),
		accounts.Edit{Role: req.Role, Districts: req.Districts, FullName: req.FullName})
	if err != nil {
		fail(c, err)
		return
	}
	respond(c, 200, viewOf(u))
}
