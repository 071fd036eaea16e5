package api

import (
	"errors"

	"github.com/gin-gonic/gin"

	"github.com/dengji/dengji/server/roll"
)

// listVerification lists the registrations of the caller's districts that
// need verification (待核实), by district, voter group and name, with the
// reasons: ?district=…&after=CURSOR&limit=N. The answer's next, if not
// empty, is the after of the next page.
func (s *Server) listVerification(c *gin.Context) {
	districts, limit, err := s.listParams(c)
	if err != nil {
		fail(c, err)
		return
	}
	page, err := roll.ListUnverified(actor(c), s.store, roll.VerificationQuery{Districts: districts,
		After: c.Query("after"), Limit: limit})
	if err != nil {
		fail(c, verificationError(err))
		return
	}
	respond(c, 200, page)
}

// verificationError makes a cursor the list did not give a 400.
func verificationError(err error) error {
	if errors.Is(err, roll.ErrCursor) {
		return &Error{Status: 400, Code: ErrBadRequest.Code,
			Message: ErrBadRequest.Message + ": after 参数无效 / after is not a cursor this list gave"}
	}
	return err
}
