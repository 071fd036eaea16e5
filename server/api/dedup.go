package api

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/dedupjob"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
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

// duplicateCase is a case as the console shows it.
type duplicateCase struct {
	ID        string            `json:"id"`
	Decision  string            `json:"decision"` // auto or review
	Status    store.DupStatus   `json:"status"`
	Score     float64           `json:"score"`
	Keep      string            `json:"keep,omitempty"`
	Members   []duplicateMember `json:"members"`
	Evidence  json.RawMessage   `json:"evidence,omitempty"`
	Found     time.Time         `json:"found"`
	DecidedBy string            `json:"decided_by,omitempty"`
	DecidedAt time.Time         `json:"decided_at,omitzero"`
	// Notes are what registrars recorded of the voters' word on the notices
	// of the case's registrations, whichever district they are in.
	Notes []caseNote `json:"notes,omitempty"`
}

// caseNote is a registrar's answer to the notice on a member.
type caseNote struct {
	Record   string `json:"record"`
	District string `json:"district"`
	dsync.NoticeAnswer
}

// duplicateMember carries the registration only when its district is the
// caller's: a coordinator sees that a member elsewhere exists, not who.
type duplicateMember struct {
	Record       string              `json:"record"`
	District     string              `json:"district"`
	Registration *model.Registration `json:"registration,omitempty"`
}

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

// showCase is a case as u may see it: a member outside u's districts by its
// record ID and district only, and the links to it without their evidence.
func showCase(tx store.Tx, u *store.User, c *store.DupCase) (duplicateCase, error) {
	dc := duplicateCase{ID: c.ID, Decision: c.Decision, Status: c.Status, Score: c.Score, Keep: c.Keep,
		Evidence: visibleEvidence(u, c), Found: c.Found, DecidedBy: c.DecidedBy, DecidedAt: c.DecidedAt}
	for _, m := range c.Members {
		dm := duplicateMember{Record: m.Record, District: m.District}
		if u.InScope(m.District) {
			rec, err := tx.Record(m.Record)
			switch {
			case err == nil:
				reg, err := model.RegistrationFromFields(rec.Values())
				if err != nil {
					return dc, err
				}
				dm.Registration = &reg
			case !errors.Is(err, store.ErrNotFound):
				return dc, err
			}
		}
		dc.Members = append(dc.Members, dm)
		n, err := tx.Notice(dedupjob.NoticeID(c.ID, m.Record))
		switch {
		case err == nil && n.Answer != nil:
			dc.Notes = append(dc.Notes, caseNote{Record: m.Record, District: n.District, NoticeAnswer: *n.Answer})
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return dc, err
		}
	}
	return dc, nil
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
		Allow: func(dc *store.DupCase) error {
			ds := dc.Districts()
			if !slices.ContainsFunc(ds, u.InScope) {
				return ErrNotFound // not a case the caller can see at all
			}
			if !allFunc(ds, u.InScope) {
				return ErrOutOfScope
			}
			return nil
		}})
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

// evidenceLink is a scored link of a case's evidence (dedup.Link), its
// evidence kept as stored.
type evidenceLink struct {
	A        string          `json:"a"`
	B        string          `json:"b"`
	Decision json.RawMessage `json:"decision,omitempty"`
	Evidence json.RawMessage `json:"evidence,omitempty"`
}

// visibleEvidence is the case's evidence with the field comparisons left
// out of every link to a member outside u's districts: how a name, ID
// number, phone or address compared says something of that person. The
// link itself (which records, the engine's decision) stays. Evidence that
// does not read as links is left out whole unless every member is in scope.
func visibleEvidence(u *store.User, c *store.DupCase) json.RawMessage {
	hidden := map[string]bool{}
	for _, m := range c.Members {
		if !u.InScope(m.District) {
			hidden[m.Record] = true
		}
	}
	if len(hidden) == 0 || len(c.Evidence) == 0 {
		return c.Evidence
	}
	var links []evidenceLink
	if err := json.Unmarshal(c.Evidence, &links); err != nil {
		return nil
	}
	for i := range links {
		if hidden[links[i].A] || hidden[links[i].B] {
			links[i].Evidence = nil
		}
	}
	out, err := json.Marshal(links)
	if err != nil {
		return nil
	}
	return out
}

func allFunc[T any](s []T, f func(T) bool) bool {
	for _, v := range s {
		if !f(v) {
			return false
		}
	}
	return true
}
