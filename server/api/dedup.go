package api

import (
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/dengji/dengji/server/dedupjob"
	"github.com/dengji/dengji/server/store"
)

// startDedup starts a full run, or ?incremental=1 an incremental one, in
// the background: 202 with the job's status, 409 dedup_running if one runs.
func (s *Server) startDedup(c *gin.Context) {
	incremental, _ := strconv.ParseBool(c.DefaultQuery("incremental", "0"))
	// The run outlives the request that starts it, not the server.
	if err := s.dedup.Start(s.ctx, incremental); err != nil {
		fail(c, err)
		return
	}
	s.dedupStatus(c, 202)
}

// getDedup reports the run under way (phase, done, total) and the last
// run's summary.
func (s *Server) getDedup(c *gin.Context) { s.dedupStatus(c, 200) }

func (s *Server) dedupStatus(c *gin.Context, code int) {
	st, err := s.dedup.Status(c)
	if err != nil {
		fail(c, err)
		return
	}
	respond(c, code, st)
}

// duplicateCase is a case as the caller may see it.
type duplicateCase = dedupjob.CaseView

type duplicatesResponse struct {
	Cases []duplicateCase `json:"cases"`
}

// listDuplicates lists cases touching the caller's districts:
// ?status=open|confirmed|rejected&district=…&after=ID&limit=N.
func (s *Server) listDuplicates(c *gin.Context) {
	u := user(c)
	districts, limit, err := s.listParams(c)
	if err != nil {
		fail(c, err)
		return
	}
	status := store.DupStatus(c.Query("status"))
	switch status {
	case "", store.DupOpen, store.DupConfirmed, store.DupRejected:
	default:
		fail(c, ErrBadRequest)
		return
	}
	q := store.DupCaseQuery{Districts: districts, Status: status, After: c.Query("after"), Limit: limit}
	out := []duplicateCase{}
	err = s.store.View(c, func(tx store.Tx) error {
		cases, err := tx.DupCases(q)
		if err != nil {
			return err
		}
		for i := range cases {
			dc, err := showCase(tx, u, &cases[i])
			if err != nil {
				return err
			}
			out = append(out, dc)
		}
		return nil
	})
	if err != nil {
		fail(c, err)
		return
	}
	respond(c, 200, duplicatesResponse{Cases: out})
}

// showCase is a case as u may see it (dedupjob.ShowCase).
func showCase(tx store.Tx, u *store.User, c *store.DupCase) (duplicateCase, error) {
	return dedupjob.ShowCase(tx, u, c)
}

type decideRequest struct {
	Decision string `json:"decision"` // confirmed or rejected
	Keep     string `json:"keep,omitempty"`
	// Remove, with confirmed, marks the other registrations removed
	// (registered elsewhere) at once.
	Remove bool `json:"remove,omitempty"`
}

type decideResponse struct {
	Case    duplicateCase `json:"case"`
	Removed []string      `json:"removed,omitempty"`
}

// decideDuplicate records a coordinator's decision on a case; every
// member's district must be the caller's.
func (s *Server) decideDuplicate(c *gin.Context) {
	var req decideRequest
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	u := user(c)
	res, err := dedupjob.Decide(actor(c), s.store, dedupjob.Decision{Case: c.Param("id"),
		Status: store.DupStatus(req.Decision), Keep: req.Keep, By: u.Name, Remove: req.Remove,
		Validate: s.cfg.Validator,
		Allow:    dedupjob.AllowReviewer(u, ErrOutOfScope)})
	if err != nil {
		fail(c, err)
		return
	}
	var out decideResponse
	err = s.store.View(c, func(tx store.Tx) error {
		out.Case, err = showCase(tx, u, &res.Case)
		return err
	})
	if err != nil {
		fail(c, err)
		return
	}
	out.Removed = res.Removed
	respond(c, 200, out)
}
