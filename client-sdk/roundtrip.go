package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"

	dsync "github.com/dengji/dengji/sync"
	"go.etcd.io/bbolt"
)

// errFallBack stops a one-round-trip sync whose answer needs the full path
// (counters to number again); nothing of it was stored.
var errFallBack = errors.New("sdk: sync in steps")

// syncOnce is a small Sync in one round trip (POST /v1/sync): the outbox,
// if it fits one batch, goes up, and the rules, when changed, the first
// page of notices and the first page of the pull come back. It reports
// whether it did the sync's push and rules; whether more pages follow
// (with pull); and whether the notices it brought are all there are.
// Anything out of the ordinary (a full outbox, counters the server
// refuses, a clock ahead, a batch too large, a server without /v1/sync)
// leaves it to the sync in steps.
func (d *Device) syncOnce(ctx context.Context, rep *SyncReport) (handled, more, noticesCurrent bool, err error) {
	if n, err := d.Pending(); err != nil || n > d.opts.BatchSize {
		return false, false, false, err
	}
	b := <-d.prepare(0, d.opts.BatchSize)
	if b.err != nil {
		return false, false, false, b.err
	}
	if len(b.changes) == 0 {
		b.body = dsync.AppendColumns(nil, nil)
		if !d.opts.DisableGzip {
			if b.body, err = encodeBody(nil, b.body, true); err != nil {
				return false, false, false, err
			}
		}
	}
	var etag string
	var noticesAfter uint64
	err = d.db.View(func(tx *bbolt.Tx) error {
		etag, noticesAfter = getStringTx(tx, keyRulesETag), getU64Tx(tx, keyNotices)
		return nil
	})
	if err != nil {
		return false, false, false, err
	}
	var stored atomic.Int64
	acked := false
	req := request{method: http.MethodPost, raw: b.body, zipped: !d.opts.DisableGzip, auth: true, progress: &stored,
		header: d.generationHeader()}
	var start uint64
	req.pathFunc = func() (string, error) {
		var err error
		if start, err = d.cursor(); err != nil {
			return "", err
		}
		held, err := d.held()
		return fmt.Sprintf("/v1/sync?cursor=%d&max_bytes=%d&results=short&format=%s&rules=%s&notices=%d&held=%d", start,
			d.opts.PageBytes, dsync.FormatColumns, url.QueryEscape(etag), noticesAfter, held), err
	}
	req.stream = func(body io.Reader) error {
		s := newJSONStream(body)
		var end pageEnd
		var rules []byte
		var newTag string
		var notices *dsync.NoticePage
		records := d.recordStream(s, &stored, rep)
		err := s.object(func(key string) error {
			switch key {
			case "results":
				var results []dsync.Result
				if err := s.decode(&results); err != nil {
					return err
				}
				if acked { // a retry after the acknowledgement: answered again as duplicates
					return nil
				}
				fillChangeIDs(b.changes, results)
				if err := checkResults(b.changes, results); err != nil {
					return err
				}
				if _, reused := counterReused(results); reused {
					return errFallBack
				}
				if err := d.acknowledge(b.changes, results, d.server.get(), rep); err != nil {
					return fmt.Errorf("store push results: %w", err)
				}
				acked = true
				stored.Add(1) // progress: the next try sends what is left
				return nil
			case "rules":
				var err error
				rules, err = s.value()
				return err
			case "rules_etag":
				return s.decode(&newTag)
			case "notices":
				return s.decode(&notices)
			}
			return end.field(s, key, records)
		})
		if err != nil {
			return errors.Join(err, records.keep())
		}
		if rules != nil {
			if err := d.storeRules(rules, newTag); err != nil {
				return err
			}
		}
		if notices != nil {
			if err := d.storeNotices(notices.Notices, notices.Cursor, "", ""); err != nil {
				return fmt.Errorf("store notices: %w", err)
			}
			rep.Notices += len(notices.Notices)
			noticesCurrent = !notices.More
		}
		more = end.More
		if end.More && end.Cursor <= start {
			return fmt.Errorf("%w: sync cursor did not advance from %d", ErrProtocol, start)
		}
		return records.flush(end.Cursor)
	}
	err = d.call(ctx, req, nil)
	var se *ServerError
	switch {
	case errors.Is(err, errFallBack), errors.As(err, &se) && (se.Code == dsync.CodeClockSkew ||
		se.StatusCode == http.StatusRequestEntityTooLarge || se.StatusCode == http.StatusNotFound):
		// 404: a server older than /v1/sync.
		return acked, false, false, nil
	case err != nil:
		return acked, false, false, fmt.Errorf("sync: %w", err)
	}
	return true, more, noticesCurrent, nil
}
