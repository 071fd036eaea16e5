package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	json "github.com/dengji/dengji/internal/jsonx"
	"go.etcd.io/bbolt"

	dsync "github.com/dengji/dengji/sync"
)

// SyncReport says what one Sync did.
type SyncReport struct {
	Pushed     map[dsync.Status]int // acknowledged changes by status
	Pulled     int                  // records stored from the server
	Conflicts  int                  // conflicts the server reported
	Rejections int                  // changes the server refused
	Resolved   int                  // conflicts held here that a coordinator has decided
	Notices    int                  // notices of suspected duplicates received, new or changed
	Duration   time.Duration
}

// Sync learns the rules the device checks offline (scope, districts,
// election), pushes every pending change, pulls the server's state, learns
// the decisions on the conflicts this device holds, and exchanges notices
// of suspected duplicates (notices.go). An outbox that fits one batch goes
// up in the same round trip as the rules and the first page come down
// (POST /v1/sync); a larger one goes in steps. It
// returns ErrSyncInProgress if another Sync is running. What was done before
// an error stays done; the next Sync continues from there.
func (d *Device) Sync(ctx context.Context) (SyncReport, error) {
	return d.exclusive(ctx, func(ctx context.Context, rep *SyncReport) error {
		for round := 0; ; round++ {
			err := d.syncSteps(ctx, rep)
			if hasCode(err, codeGenerationChanged) && round == 0 {
				// The combined round trip met a server restored from a
				// backup: nothing of it was stored. Put back what the
				// older server took (generation.go) and sync again.
				if _, err := d.reconcile(); err != nil {
					return fmt.Errorf("after the server's restore: %w", err)
				}
				continue
			}
			if err != nil {
				return err
			}
			// A server restored from a backup: send again what it lost,
			// read the districts again (generation.go).
			if restored, err := d.reconcile(); err != nil || !restored || round > 0 {
				return err
			}
		}
	})
}

// syncSteps is one pass of Sync: the combined round trip when the outbox
// fits one batch, else rules, push and pull in steps; then conflicts and
// notices.
func (d *Device) syncSteps(ctx context.Context, rep *SyncReport) error {
	handled, more, noticesDone, err := d.syncOnce(ctx, rep)
	switch {
	case err != nil:
	case !handled:
		err = d.refreshRules(ctx)
		if err == nil {
			err = d.push(ctx, rep)
		}
		if err == nil {
			err = d.pull(ctx, rep)
		}
	case more:
		err = d.pull(ctx, rep)
	}
	if err == nil {
		err = d.pulledAll()
	}
	if err == nil {
		err = d.refreshConflicts(ctx, rep, false)
	}
	switch {
	case err != nil:
	case noticesDone: // the round trip brought them all
		err = d.sendAnswers(ctx)
	default:
		err = d.syncNotices(ctx, rep)
	}
	return err
}

// push sends the outbox in batches until it is empty. It is pipelined: while
// one batch is with the server, the next is read from the outbox and
// compressed, and the answers to the last are being stored, so the device and
// the server work at the same time. Batches still reach the server one after
// the other, in counter order. A batch the server finds too large (413) is
// halved and sent again. If the server finds counters already used (this
// device was restored from a backup), the outbox is numbered again above
// the server's mark and sent again. A batch cut or stalled in transit is
// sent again halved, and the size doubles back after each one that gets
// through: batches adapt to what the link carries between its failures.
func (d *Device) push(ctx context.Context, rep *SyncReport) error {
	limit := d.opts.BatchSize
	renumbered, corrected, failed, restores := 0, 0, 0, 0
	var acking chan error // the acknowledgement under way, if any
	wait := func() error {
		if acking == nil {
			return nil
		}
		err := <-acking
		acking = nil
		return err
	}
	next := d.prepare(0, limit)
	for {
		b := <-next
		if b.err != nil || len(b.changes) == 0 {
			return errors.Join(b.err, wait())
		}
		next = d.prepare(b.last(), limit)
		resp, err := d.send(ctx, b)
		if tooLarge(err) && len(b.changes) > 1 {
			<-next
			limit = len(b.changes) / 2
			next = d.prepare(b.after, limit)
			continue
		}
		if retryable(ctx, err) && failed+1 < d.opts.MaxAttempts {
			// Cut, stalled or refused for now: the link cannot carry a
			// batch this size between its failures. Send half as much
			// after a wait; a batch that gets through is progress, and
			// the size grows again.
			failed++
			<-next
			limit = max(1, len(b.changes)/2)
			if err := sleep(ctx, d.backoff(failed, err)); err != nil {
				return errors.Join(err, wait())
			}
			next = d.prepare(b.after, limit)
			continue
		}
		if cs, ok := clockSkew(err); ok && corrected < 3 {
			// Nothing of the batch was stored: set the clock by the
			// server's, stamp the outbox again and send it again.
			corrected++
			<-next // read under the old timestamps
			if err := wait(); err != nil {
				return fmt.Errorf("store push results: %w", err)
			}
			if err := d.correctClock(cs); err != nil {
				return fmt.Errorf("correct the clock: %w", err)
			}
			next = d.prepare(0, limit)
			continue
		}
		if hasCode(err, codeGenerationChanged) && restores < 2 {
			// Restored from a backup: nothing of the batch was stored. Put
			// back what the older server took, then send in order.
			restores++
			<-next
			if err := wait(); err != nil {
				return fmt.Errorf("store push results: %w", err)
			}
			if _, err := d.reconcile(); err != nil {
				return fmt.Errorf("after the server's restore: %w", err)
			}
			next = d.prepare(0, limit)
			continue
		}
		if err != nil {
			<-next
			return errors.Join(err, wait())
		}
		if err := wait(); err != nil {
			<-next
			return fmt.Errorf("store push results: %w", err)
		}
		if high, ok := counterReused(resp.Results); ok {
			<-next // read under the old numbers
			if renumbered++; renumbered > 3 {
				return fmt.Errorf("%w: the server keeps refusing this device's counters", ErrProtocol)
			}
			if err := d.acknowledge(b.changes, resp.Results, b.server, rep); err != nil {
				return fmt.Errorf("store push results: %w", err)
			}
			if err := d.renumber(high); err != nil {
				return fmt.Errorf("number the outbox again: %w", err)
			}
			next = d.prepare(0, limit)
			continue
		}
		failed, limit = 0, min(d.opts.BatchSize, limit*2)
		acking = make(chan error, 1)
		go func() { acking <- d.acknowledge(b.changes, resp.Results, b.server, rep) }()
	}
}

// batch is a push ready to send: outbox changes with counters above after,
// and the request body carrying them.
type batch struct {
	after   uint64
	changes []dsync.Change
	body    []byte
	err     error
	server  serverMark // what the server's answer to it said (generation.go)
}

func (b *batch) last() uint64 { return b.changes[len(b.changes)-1].Counter }

// prepare reads and encodes the next batch in the background, in the
// columnar encoding (dsync.FormatColumns).
func (d *Device) prepare(after uint64, limit int) <-chan *batch {
	out := make(chan *batch, 1)
	go func() {
		b := &batch{after: after}
		b.err = d.db.View(func(tx *bbolt.Tx) (err error) {
			b.changes, err = outboxBatchTx(tx, after, limit)
			return err
		})
		if b.err == nil && len(b.changes) > 0 {
			// As columns, each field's values together: a fifth fewer
			// bytes than the changes one after another, once gzip'd.
			b.body = dsync.AppendColumns(make([]byte, 0, 64<<10), b.changes)
			if !d.opts.DisableGzip {
				b.body, b.err = d.pace.compress(b.body)
			}
		}
		out <- b
	}()
	return out
}

func (d *Device) send(ctx context.Context, b *batch) (*dsync.PushResponse, error) {
	var resp dsync.PushResponse
	// The pull cursor tells the server which states this device holds, so
	// its changes to them are not sent back to it.
	cursor, err := d.cursor()
	if err != nil {
		return nil, err
	}
	var worked time.Duration
	req := request{method: http.MethodPost, path: fmt.Sprintf("/v1/push?cursor=%d&results=short&format=%s", cursor,
		dsync.FormatColumns), raw: b.body,
		zipped: !d.opts.DisableGzip, auth: true, once: true,
		header: d.generationHeader(), serverTime: &worked}
	start := time.Now()
	if err := d.call(ctx, req, &resp); err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	d.pace.sent(time.Since(start) - worked)
	fillChangeIDs(b.changes, resp.Results)
	b.server = d.server.get()
	if err := checkResults(b.changes, resp.Results); err != nil {
		return nil, err
	}
	return &resp, nil
}

func tooLarge(err error) bool {
	var se *ServerError
	return errors.As(err, &se) && se.StatusCode == http.StatusRequestEntityTooLarge
}

// fillChangeIDs names the changes of short results (?results=short), which
// answer them in order without their IDs; an ID given stays, for
// checkResults to compare.
func fillChangeIDs(batch []dsync.Change, results []dsync.Result) {
	for i := range results {
		if results[i].Change == "" && i < len(batch) {
			results[i].Change = batch[i].ID
		}
	}
}

// checkResults makes sure the server answered every change, in order, with
// a status the SDK knows, before anything leaves the outbox.
func checkResults(batch []dsync.Change, results []dsync.Result) error {
	if len(results) != len(batch) {
		return fmt.Errorf("%w: %d results for %d changes", ErrProtocol, len(results), len(batch))
	}
	for i, r := range results {
		if r.Change != batch[i].ID {
			return fmt.Errorf("%w: result %d is for change %s, not %s", ErrProtocol, i, r.Change, batch[i].ID)
		}
		switch r.Status {
		case dsync.StatusApplied, dsync.StatusDuplicate, dsync.StatusConflict, dsync.StatusRejected:
		default:
			return fmt.Errorf("%w: unknown status %q", ErrProtocol, r.Status)
		}
	}
	return nil
}

// counterReused reports whether the server refused counters this device
// already used, and the highest counter it has taken from the device (0 if
// it did not say: renumbering then goes on from the device's own counter,
// and gives up after a few rounds with the changes still in the outbox).
func counterReused(results []dsync.Result) (high uint64, ok bool) {
	for i := range results {
		if results[i].Code != dsync.CodeCounterReused {
			continue
		}
		ok = true
		var cr dsync.CounterReused
		if json.Unmarshal(results[i].Details, &cr) == nil {
			high = max(high, cr.High)
		}
	}
	return high, ok
}

// clockSkew reports whether the server refused a push because this device's
// clock is ahead of its own, and the server's time.
func clockSkew(err error) (dsync.ClockSkew, bool) {
	var se *ServerError
	var cs dsync.ClockSkew
	if !errors.As(err, &se) || se.Code != dsync.CodeClockSkew || json.Unmarshal(se.Details, &cs) != nil ||
		cs.ServerTime <= 0 {
		return cs, false
	}
	return cs, true
}

// correctClock sets this device's clock by the server's time, which found a
// change stamped too far ahead, and stamps again the changes still in the
// outbox, in one transaction: one stamped later than the corrected clock
// moves back by the clock's error, so it still tells when the edit was
// made, and every one stays after the one before. The correction holds
// until the device file is opened again (a clock set right meanwhile is then
// taken as it is); change IDs and counters stay.
func (d *Device) correctClock(cs dsync.ClockSkew) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	wall := d.opts.Now
	offset := time.Duration(cs.ServerTime-wall().UnixMilli()) * time.Millisecond
	d.clock.Now = func() time.Time { return wall().Add(offset) }
	now := dsync.MakeHLC(d.clock.Now().UnixMilli(), 0)
	shift := offset.Milliseconds()
	var last dsync.HLC
	return d.db.Update(func(tx *bbolt.Tx) error {
		touched := map[string]bool{}
		ob := tx.Bucket(bucketOutbox)
		c := ob.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			ch, err := outboxChangeTx(tx, k)
			if err != nil {
				return err
			}
			h := ch.HLC
			if h > now {
				h = min(dsync.MakeHLC(h.Millis()+shift, h.Logical()), now)
			}
			if h <= last {
				h = last.Next()
			}
			last, ch.HLC = h, h
			if err := ob.Put(k, ch.AppendJSON(nil)); err != nil {
				return err
			}
			touched[ch.Record] = true
		}
		for id := range touched {
			if err := rebuildViewTx(tx, id); err != nil {
				return err
			}
		}
		d.clock.Reset(max(last, now))
		return putU64Tx(tx, keyHLC, uint64(d.clock.Last()))
	})
}

// renumber gives every change still in the outbox a new counter above high
// and above every counter this device used, in the order they were made, in
// one transaction. Change IDs stay: the server knows a change by its ID.
func (d *Device) renumber(high uint64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.db.Update(func(tx *bbolt.Tx) error {
		var chs []*dsync.Change
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			ch, err := outboxChangeTx(tx, k)
			if err != nil {
				return err
			}
			chs = append(chs, ch)
		}
		for _, ch := range chs {
			if err := removeChangeTx(tx, ch); err != nil {
				return err
			}
		}
		n := max(high, getU64Tx(tx, keyCounter))
		for _, ch := range chs {
			n++
			ch.Counter = n
			if err := appendChangeTx(tx, ch); err != nil {
				return err
			}
		}
		// The server took counters up to high that this file never saw: it
		// was restored from an older copy, and lacks what it pushed after
		// that copy. The next pull pass brings its own changes back too.
		if err := tx.Bucket(bucketMeta).Put(keyPullAll, []byte{1}); err != nil {
			return err
		}
		return putU64Tx(tx, keyCounter, n)
	})
}

// held is what a pull tells the server of this device's own changes (its
// ?held=): the highest counter it used, whose changes it holds and need not
// be sent back; 0 while a pull pass must bring them all back (after the
// server found the file restored from an older copy, see renumber).
func (d *Device) held() (uint64, error) {
	var n uint64
	err := d.db.View(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketMeta).Get(keyPullAll) == nil {
			n = getU64Tx(tx, keyCounter)
		}
		return nil
	})
	return n, err
}

// pulledAll ends the pass that brought this device's own changes back: a
// pull has reached the feed's end.
func (d *Device) pulledAll() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.db.Update(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketMeta).Get(keyPullAll) == nil {
			return nil
		}
		return tx.Bucket(bucketMeta).Delete(keyPullAll)
	})
}

// acknowledge applies one batch's results in one transaction. A change
// refused for its counter stays in the outbox, to be numbered again.
func (d *Device) acknowledge(batch []dsync.Change, results []dsync.Result, m serverMark, rep *SyncReport) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	touched := map[string]bool{}
	err := d.db.Update(func(tx *bbolt.Tx) error {
		for i := range batch {
			if results[i].Code == dsync.CodeCounterReused {
				continue
			}
			settled, err := ackTx(tx, &batch[i], &results[i])
			if err != nil {
				return err
			}
			if err := keepPushedTx(tx, &batch[i], &results[i], m); err != nil {
				return err
			}
			if !settled {
				touched[batch[i].Record] = true
			}
		}
		for id := range touched {
			if err := rebuildViewTx(tx, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := range results {
		if results[i].Code != dsync.CodeCounterReused {
			rep.count(&results[i])
		}
	}
	return nil
}

func (rep *SyncReport) count(r *dsync.Result) {
	rep.Pushed[r.Status]++
	rep.Conflicts += len(r.Conflicts)
	if rejected(r) {
		rep.Rejections++
	}
}

// pull stores the server's records from the stored cursor, page after page
// until the server says no more. Records are read as they stream in and
// stored in chunks, each with the cursor of its last record, so a cut page
// keeps what had arrived and the next try (or Sync) asks from there.
func (d *Device) pull(ctx context.Context, rep *SyncReport) error {
	for {
		more, err := d.pullPage(ctx, rep)
		if err != nil || !more {
			return err
		}
	}
}

// pullChunk is how many records are stored in one transaction while a page
// streams in.
const pullChunk = 500

// pullPage fetches and stores one page, retrying from the last record
// stored while records keep arriving; it reports whether more follow.
func (d *Device) pullPage(ctx context.Context, rep *SyncReport) (more bool, err error) {
	var stored atomic.Int64
	var start uint64
	req := request{method: http.MethodGet, auth: true, progress: &stored}
	// Each try asks from the cursor stored last: a try cut after some
	// records leaves the next one only the rest to fetch.
	req.pathFunc = func() (string, error) {
		var err error
		start, err = d.cursor()
		if err != nil {
			return "", err
		}
		held, err := d.held()
		return fmt.Sprintf("/v1/pull?cursor=%d&limit=%d&max_bytes=%d&format=%s&held=%d", start, d.opts.PageSize,
			d.opts.PageBytes, dsync.FormatCompact, held), err
	}
	req.stream = func(body io.Reader) error {
		page, err := d.streamPage(body, start, &stored, rep)
		more = page.More
		return err
	}
	if err := d.call(ctx, req, nil); err != nil {
		return false, fmt.Errorf("pull: %w", err)
	}
	return more, nil
}

// pageEnd is what follows a page's records.
type pageEnd struct {
	Cursor uint64
	More   bool
}

// field reads the value of a page's key: its records into records, its
// cursor and more into e; the value of any other key is skipped.
func (e *pageEnd) field(s *jsonStream, key string, records *recordStream) error {
	switch key {
	case "records":
		return records.read()
	case "cursor":
		return s.decode(&e.Cursor)
	case "more":
		return s.decode(&e.More)
	}
	_, err := s.value()
	return err
}

// streamPage reads a compact page, storing its records chunk by chunk as
// they arrive; the page's cursor is stored with its last chunk.
func (d *Device) streamPage(body io.Reader, from uint64, stored *atomic.Int64, rep *SyncReport) (pageEnd, error) {
	var end pageEnd
	s := newJSONStream(body)
	records := d.recordStream(s, stored, rep)
	err := s.object(func(key string) error { return end.field(s, key, records) })
	if err != nil {
		return end, errors.Join(err, records.keep())
	}
	if end.More && end.Cursor <= from {
		return end, fmt.Errorf("%w: pull cursor did not advance from %d", ErrProtocol, from)
	}
	return end, records.flush(end.Cursor)
}

// recordStream stores the compact records of a page's array as they are
// decoded, pullChunk at a time, each chunk with its last record's cursor.
type recordStream struct {
	d      *Device
	s      *jsonStream
	stored *atomic.Int64
	rep    *SyncReport
	chunk  []pulled
}

// pulled is a record as it arrived and as decoded: the arrived bytes,
// which are the compact encoding the device file keeps, are stored as
// they are.
type pulled struct {
	dsync.Record
	compact []byte
}

func (d *Device) recordStream(s *jsonStream, stored *atomic.Int64, rep *SyncReport) *recordStream {
	return &recordStream{d: d, s: s, stored: stored, rep: rep, chunk: make([]pulled, 0, pullChunk)}
}

// read reads the array of records.
func (rs *recordStream) read() error {
	return rs.s.array(func() error {
		raw, err := rs.s.value()
		if err != nil {
			return err
		}
		r, err := dsync.DecodeCompact(raw)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrProtocol, err)
		}
		rs.chunk = append(rs.chunk, pulled{Record: *r, compact: raw})
		if len(rs.chunk) == pullChunk {
			return rs.flush(r.Seq)
		}
		return nil
	})
}

// flush stores the records held and the cursor.
func (rs *recordStream) flush(cursor uint64) error {
	n, err := rs.d.storePage(rs.chunk, cursor)
	rs.rep.Pulled += n
	rs.stored.Add(int64(len(rs.chunk)))
	rs.chunk = rs.chunk[:0]
	return err
}

// keep stores what arrived of a page cut short: its records are whole, and
// the last one's sequence is a cursor the next try can start from.
func (rs *recordStream) keep() error {
	if len(rs.chunk) == 0 {
		return nil
	}
	return rs.flush(rs.chunk[len(rs.chunk)-1].Seq)
}

func (d *Device) cursor() (uint64, error) {
	var c uint64
	err := d.db.View(func(tx *bbolt.Tx) error { c = getU64Tx(tx, keyCursor); return nil })
	return c, err
}

// storePage writes pulled records, their clock readings and the new cursor
// in one transaction.
func (d *Device) storePage(records []pulled, cursor uint64) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	err := d.db.Update(func(tx *bbolt.Tx) error {
		n = 0
		for i := range records {
			r := &records[i].Record
			stored, err := putPulledTx(tx, r, records[i].compact)
			if err != nil {
				return err
			}
			// A timestamp far ahead (a record stamped before the server
			// bounded them) would carry this clock along with it.
			if !stored {
				continue
			}
			n++
			if !r.HLC.Ahead(d.clock.Now(), dsync.MaxClockAhead) {
				d.clock.Observe(r.HLC)
			}
		}
		if err := putU64Tx(tx, keyHLC, uint64(d.clock.Last())); err != nil {
			return err
		}
		return putU64Tx(tx, keyCursor, cursor)
	})
	return n, err
}
