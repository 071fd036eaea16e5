package api

import (
	"context"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/dengji/dengji/server/audit"
	"github.com/dengji/dengji/server/store"
)

// actor is the request's context with its caller, user and device, as the
// actor of the audit entries appended while serving it.
func actor(c *gin.Context) context.Context {
	a := audit.Actor{User: c.GetString(ctxUserName)}
	if d := device(c); d != nil {
		a.Device = d.ID
	}
	return audit.WithActor(c, a)
}

// auditPage is a page of the audit log.
type auditPage struct {
	Entries []audit.Entry `json:"entries"`
	// Next, if not 0, is the after of the next page.
	Next uint64 `json:"next,omitempty"`
}

// listAudit answers a page of the audit log, oldest first:
// ?after=SEQ&limit=N (1–1,000, default 100).
func (s *Server) listAudit(c *gin.Context) {
	after, err1 := strconv.ParseUint(c.DefaultQuery("after", "0"), 10, 64)
	limit, err2 := strconv.Atoi(c.DefaultQuery("limit", "100"))
	if err1 != nil || err2 != nil || limit < 1 || limit > 1000 {
		fail(c, ErrBadRequest)
		return
	}
	page := auditPage{Entries: []audit.Entry{}}
	err := s.store.View(c, func(tx store.Tx) error {
		es, err := tx.AuditEntries(after, limit+1)
		if len(es) > limit {
			es = es[:limit]
			page.Next = es[limit-1].Seq
		}
		page.Entries = append(page.Entries, es...)
		return err
	})
	if err != nil {
		fail(c, err)
		return
	}
	respond(c, 200, page)
}
