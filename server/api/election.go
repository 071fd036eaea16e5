package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/election"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// getElection answers the election the server runs (the zero election if
// none is set).
func (s *Server) getElection(c *gin.Context) {
	e, err := loadElection(c, s.store)
	if err != nil {
		fail(c, err)
		return
	}
	respond(c, 200, e)
}

// putElection sets the election: its name, day and deadlines, checked
// field by field, audited as election_changed. Pushes validate against it
// from the next change on, and devices learn it at their next sync.
func (s *Server) putElection(c *gin.Context) {
	var e model.Election
	if err := bind(c, &e); err != nil {
		fail(c, err)
		return
	}
	err := s.store.Update(c, func(tx store.Tx) error {
		_, err := election.Set(actor(c), tx, e)
		return err
	})
	if err != nil {
		fail(c, err)
		return
	}
	s.election.Store(e)
	respond(c, 200, e)
}

// electionError is a refused election, its message naming each field, its
// details the issues.
func electionError(ie *election.InvalidError) *Error {
	msgs := make([]string, len(ie.Issues))
	for i, is := range ie.Issues {
		msgs[i] = is.Field + ": " + is.Message
	}
	details, _ := json.Marshal(ie.Issues)
	return &Error{Status: ErrBadElection.Status, Code: ErrBadElection.Code,
		Message: ErrBadElection.Message + ": " + strings.Join(msgs, "; "), Details: details}
}

// deviceRules answers what a device checks offline: the caller's scope,
// the districts the server knows in it, and the election. It carries an
// ETag; asked again with If-None-Match while nothing changed, it is 304
// without a body.
func (s *Server) deviceRules(c *gin.Context) {
	body, etag, err := s.rulesOf(c)
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("ETag", etag)
	if c.GetHeader("If-None-Match") == etag {
		c.Status(304)
		return
	}
	respondJSON(c, 200, body)
}

// rulesOf is the caller's rules, encoded, and their ETag.
func (s *Server) rulesOf(c *gin.Context) ([]byte, string, error) {
	u := user(c)
	r := dsync.Rules{Scope: []string{}, Districts: []dsync.RulesDistrict{}, AllDistricts: u.Role == store.RoleAdmin}
	if !r.AllDistricts {
		r.Scope = append(r.Scope, u.Districts...)
	}
	err := s.store.View(c, func(tx store.Tx) error {
		ds, err := tx.Districts()
		if err != nil {
			return err
		}
		for _, d := range ds {
			if r.InScope(d.Code) {
				r.Districts = append(r.Districts, dsync.RulesDistrict{Code: d.Code, Name: d.Name, Kind: d.Kind})
			}
		}
		r.Election, err = election.Get(tx)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	body, err := json.Marshal(r)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(body)
	return body, `"` + hex.EncodeToString(sum[:12]) + `"`, nil
}

func loadElection(ctx context.Context, st store.Store) (model.Election, error) {
	var e model.Election
	err := st.View(ctx, func(tx store.Tx) (err error) {
		e, err = election.Get(tx)
		return err
	})
	return e, err
}
