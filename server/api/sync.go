package api

import (
	"compress/gzip"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// push merges a device's batch of changes. A change outside the caller's
// districts is refused alone (out_of_scope), like any other refused change:
// one mistyped district must not block a device's every later sync.
// ?cursor= is the device's pull cursor: its changes to states it held are
// then not sent back to it. ?results=short leaves the change IDs out of
// the results, which answer the changes in order. ?format=col1 says the
// body is the batch as columns (dsync.FormatColumns).
func (s *Server) push(c *gin.Context) {
	results, ok := s.pushBody(c)
	if ok {
		respond(c, 200, dsync.PushResponse{Results: results})
	}
}

// pushBody reads and merges the push body of c; on failure it has answered.
func (s *Server) pushBody(c *gin.Context) ([]dsync.Result, bool) {
	d := device(c)
	if d == nil {
		fail(c, ErrDeviceRequired)
		return nil, false
	}
	body, err := readBody(c)
	if err != nil {
		fail(c, err)
		return nil, false
	}
	var req dsync.PushRequest
	ok := false
	if c.Query("format") == dsync.FormatColumns {
		if req, err = dsync.DecodeColumns(body, decode); err != nil {
			fail(c, err)
			return nil, false
		}
		ok = true
	} else {
		req, ok = dsync.ParsePushRequest(body)
	}
	if !ok {
		// Outside the fast path's shape: bound the structure before a
		// general decoder builds it.
		if err := dsync.CheckPushShape(body); err != nil {
			fail(c, err)
			return nil, false
		}
		if err := decode(body, &req); err != nil {
			fail(c, err)
			return nil, false
		}
	}
	if len(req.Changes) > dsync.MaxPushBatch {
		fail(c, ErrTooLarge)
		return nil, false
	}
	u := user(c)
	pr := store.PushRequest{
		Device: d.ID, Author: u.Name, Changes: req.Changes, Validate: s.cfg.Validator,
		InScope: u.InScope, MayRestore: u.Role == store.RoleCoordinator || u.Role == store.RoleAdmin,
		MaxAhead: s.cfg.MaxClockAhead}
	if v := c.Query("cursor"); v != "" {
		cursor, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			fail(c, ErrBadRequest)
			return nil, false
		}
		pr.Cursor = &cursor
	}
	if len(req.Changes) == 0 {
		return []dsync.Result{}, true
	}
	results, err := store.Push(c, s.store, pr)
	if err != nil {
		fail(c, err)
		return nil, false
	}
	s.metrics.pushed(results)
	if c.Query("results") == "short" {
		// The device knows its changes' IDs: the answers follow their
		// order, and a change ID is the most of a result's bytes.
		for i := range results {
			results[i].Change = ""
		}
	}
	return results, true
}

// sync is a small sync in one round trip: the push of a batch (the body,
// as for push), then the first page of the pull from ?cursor= (compact,
// the device's own changes left out, as pull with ?format=c1), and the
// device's rules when they differ from those whose ETag ?rules= names.
// The answer is {"results":[…],"rules":{…},"rules_etag":"…","records":[…],
// "cursor":N,"more":bool}; results come first, so a device acknowledges
// its changes before it stores what follows. Sections another feature adds
// go after "rules_etag", before "records": with ?notices=N (the device's
// notices cursor), "notices" is the first page of GET /v1/notices?after=N.
// noticesPerSync is the most notices a sync answers; a device asks
// GET /v1/notices for more.
const noticesPerSync = 500

func (s *Server) sync(c *gin.Context) {
	cursor, err1 := strconv.ParseUint(c.DefaultQuery("cursor", "0"), 10, 64)
	maxBytes, err2 := strconv.Atoi(c.DefaultQuery("max_bytes", strconv.Itoa(store.MaxPullBytes)))
	noticesAfter, err3 := strconv.ParseUint(c.DefaultQuery("notices", "0"), 10, 64)
	held, err4 := strconv.ParseUint(c.DefaultQuery("held", "0"), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || maxBytes < 1 || maxBytes > maxPullBytes {
		fail(c, ErrBadRequest)
		return
	}
	results, ok := s.pushBody(c)
	if !ok {
		return
	}
	rules, etag, err := s.rulesOf(c)
	if err != nil {
		fail(c, err)
		return
	}
	if cursor, err = s.clampCursor(c, cursor); err != nil {
		fail(c, err)
		return
	}
	u := user(c)
	page, err := store.PullFor(c, s.store, store.PullQuery{Districts: u.Scope(), Cursor: cursor,
		Limit: dsync.MaxPullPage, MaxBytes: maxBytes, Device: device(c).ID, Held: held})
	if err != nil {
		fail(c, err)
		return
	}
	b, err := json.Marshal(results)
	if err != nil {
		fail(c, err)
		return
	}
	b = append([]byte(`{"results":`), b...)
	if etag != c.Query("rules") {
		b = append(append(b, `,"rules":`...), rules...)
	}
	b = strconv.AppendQuote(append(b, `,"rules_etag":`...), etag)
	if _, asked := c.GetQuery("notices"); asked {
		notices, err := s.noticePage(c, u.Scope(), noticesAfter, noticesPerSync)
		if err != nil {
			fail(c, err)
			return
		}
		nb, err := json.Marshal(notices)
		if err != nil {
			fail(c, err)
			return
		}
		b = append(append(b, `,"notices":`...), nb...)
	}
	b = append(b, ',')
	b = append(b, page.AppendCompactJSON(nil)[1:]...) // the page's fields, after its "{"
	respondJSONLevel(c, 200, b, pageGzipLevel)
}

// pull pages through the feed of the caller's districts, or of a subset named
// with ?district=a&district=b. A cursor beyond the feed's end (a server
// restored from an older backup) reads from the end: the device gets what
// comes next, and no cursor arithmetic wraps to the start. ?max_bytes=
// sizes the page by its records' JSON (default store.MaxPullBytes, at most
// maxPullBytes); ?format=c1 asks for the compact record encoding, which is
// compressed harder (pageGzipLevel). A device's own changes it already
// holds are left out.
func (s *Server) pull(c *gin.Context) {
	cursor, err1 := strconv.ParseUint(c.DefaultQuery("cursor", "0"), 10, 64)
	limit, err2 := strconv.Atoi(c.DefaultQuery("limit", "1000"))
	maxBytes, err3 := strconv.Atoi(c.DefaultQuery("max_bytes", strconv.Itoa(store.MaxPullBytes)))
	held, err4 := strconv.ParseUint(c.DefaultQuery("held", "0"), 10, 64)
	format := c.Query("format")
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || limit < 1 || limit > dsync.MaxPullPage ||
		maxBytes < 1 || maxBytes > maxPullBytes || (format != "" && format != dsync.FormatCompact) {
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
	q := store.PullQuery{Districts: districts, Cursor: cursor, Limit: limit, MaxBytes: maxBytes}
	if d := device(c); d != nil {
		q.Device, q.Held = d.ID, held
	}
	page, err := store.PullFor(c, s.store, q)
	if err != nil {
		fail(c, err)
		return
	}
	if format == dsync.FormatCompact {
		respondJSONLevel(c, 200, page.AppendCompactJSON(nil), pageGzipLevel)
		return
	}
	respondJSON(c, 200, page.AppendJSON(nil))
}

// pageGzipLevel compresses compact pages: gzip's default level, 2.5% more
// bytes than its best and a third of its time on the server, which
// compresses the pages of every device (BenchmarkWireEncoding).
const pageGzipLevel = gzip.DefaultCompression

// maxPullBytes bounds ?max_bytes=: a page is built in memory.
const maxPullBytes = 8 << 20

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
