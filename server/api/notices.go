package api

import (
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/dengji/dengji/server/dedupjob"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// listNotices pages through the notices of the caller's districts (or of
// those asked for with ?district=) above ?after=, oldest change first:
// what a device pulls at each sync, next to the records.
func (s *Server) listNotices(c *gin.Context) {
	after, err1 := strconv.ParseUint(c.DefaultQuery("after", "0"), 10, 64)
	limit, err2 := strconv.Atoi(c.DefaultQuery("limit", "500"))
	if err1 != nil || err2 != nil || limit < 1 || limit > 1000 {
		fail(c, ErrBadRequest)
		return
	}
	districts, err := s.scopeFilter(c)
	if err != nil {
		fail(c, err)
		return
	}
	page, err := s.noticePage(c, districts, after, limit)
	if err != nil {
		fail(c, err)
		return
	}
	respond(c, 200, page)
}

// noticePage is the notices of districts (nil: all) above after, at most
// limit: what GET /v1/notices answers, and the notices section of a sync.
func (s *Server) noticePage(c *gin.Context, districts []string, after uint64, limit int) (dsync.NoticePage, error) {
	page := dsync.NoticePage{Notices: []dsync.Notice{}, Cursor: after}
	err := s.store.View(c, func(tx store.Tx) error {
		ns, more, err := tx.Notices(districts, after, limit)
		if len(ns) > 0 {
			page.Notices, page.Cursor = ns, ns[len(ns)-1].Seq
		}
		page.More = more
		return err
	})
	return page, err
}

type answerRequest struct {
	Answer string `json:"answer"` // registered_there, different_person or other
	Note   string `json:"note,omitempty"`
}

// answerNotice records what the voter said about a notice of the caller's
// districts; the case's coordinators read it with the case.
func (s *Server) answerNotice(c *gin.Context) {
	var req answerRequest
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	u := user(c)
	a := dedupjob.Answer{Notice: c.Param("id"), Answer: req.Answer, Note: req.Note, By: u.Name,
		Allow: func(n *dsync.Notice) error {
			if !u.InScope(n.District) {
				return ErrNotFound
			}
			return nil
		}}
	if d := device(c); d != nil {
		a.Device = d.ID
	}
	n, err := dedupjob.AnswerNotice(actor(c), s.store, a)
	if err != nil {
		fail(c, err)
		return
	}
	respond(c, 200, n)
}
