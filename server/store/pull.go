package store

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	dsync "github.com/dengji/dengji/sync"
)

// Page is one page of the pull feed. It has the JSON shape of
// dsync.PullResponse, with records passed through as stored.
type Page struct {
	Records []json.RawMessage `json:"records"`
	Cursor  uint64            `json:"cursor"`
	More    bool              `json:"more"`
}

// AppendJSON appends the page's JSON to b without re-encoding the records.
func (p *Page) AppendJSON(b []byte) []byte {
	b = append(b, `{"records":[`...)
	for i, r := range p.Records {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r...)
	}
	b = append(b, `],"cursor":`...)
	b = strconv.AppendUint(b, p.Cursor, 10)
	b = append(b, `,"more":`...)
	return append(strconv.AppendBool(b, p.More), '}')
}

// AppendCompactJSON appends the page's JSON with its records in the compact
// encoding (dsync.FormatCompact): every record is decoded and written again.
func (p *Page) AppendCompactJSON(b []byte) []byte {
	b = append(b, `{"records":[`...)
	n := 0
	for _, raw := range p.Records {
		var r dsync.Record
		if DecodeRecord(raw, &r) != nil {
			continue // stored by this server's own encoder: cannot happen
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = r.AppendCompactJSON(b)
	}
	b = append(b, `],"cursor":`...)
	b = strconv.AppendUint(b, p.Cursor, 10)
	b = append(b, `,"more":`...)
	return append(strconv.AppendBool(b, p.More), '}')
}

// Decode returns the page's records decoded.
func (p *Page) Decode() ([]dsync.Record, error) {
	recs := make([]dsync.Record, len(p.Records))
	for i, raw := range p.Records {
		if err := json.Unmarshal(raw, &recs[i]); err != nil {
			return nil, err
		}
	}
	return recs, nil
}

// MaxPullBytes is the default byte budget of a pull page: its records' JSON
// stops before it would pass this size, though a page always holds at
// least one record, and More then says that more follow.
const MaxPullBytes = 1 << 20

// Pull reads one page of the change feed for the given districts (nil: all),
// of at most limit records and MaxPullBytes of record JSON. From cursor 0 it
// is a snapshot of current state, tombstones included: a device pulling from
// 0 may already hold records (its own creates pushed before its first pull
// completed, or a file restored from a backup taken before it ever pulled),
// and leaving their tombstones out left them live there for good (found by
// server/chaos). The SDK drops a tombstone of a record it never had.
func Pull(ctx context.Context, s Store, districts []string, cursor uint64, limit int) (*Page, error) {
	return PullBytes(ctx, s, districts, cursor, limit, MaxPullBytes)
}

// PullBytes is Pull with a byte budget of its own (maxBytes <= 0: MaxPullBytes).
func PullBytes(ctx context.Context, s Store, districts []string, cursor uint64, limit, maxBytes int) (*Page, error) {
	return PullFor(ctx, s, PullQuery{Districts: districts, Cursor: cursor, Limit: limit, MaxBytes: maxBytes})
}

// PullQuery is one pull: the districts (nil: all), the cursor, and the
// page's bounds.
type PullQuery struct {
	Districts []string
	Cursor    uint64
	Limit     int // records (<= 0 or above dsync.MaxPullPage: dsync.MaxPullPage)
	MaxBytes  int // bytes of record JSON (<= 0: MaxPullBytes)
	// Device, if set, is the device pulling: a record whose latest state is
	// that device's own change, applied to a state the device held
	// (dsync.Result.Folded), is left out if the device still holds the
	// change (its counter is at most Held): the device folded the change in
	// when the server answered it, so it holds that state already. A device
	// file restored from an older copy holds less than it pushed: it says
	// so with a lower Held (0: it holds nothing of its own for sure), and
	// gets its own changes back (found by server/chaos).
	Device string
	Held   uint64
}

// PullFor reads one page of the feed as q says. The cursor moves past
// records left out (the device's own changes).
func PullFor(ctx context.Context, s Store, q PullQuery) (*Page, error) {
	if q.Limit <= 0 || q.Limit > dsync.MaxPullPage {
		q.Limit = dsync.MaxPullPage
	}
	if q.MaxBytes <= 0 {
		q.MaxBytes = MaxPullBytes
	}
	page := &Page{Cursor: q.Cursor, Records: []json.RawMessage{}}
	err := s.View(ctx, func(tx Tx) error {
		entries, more, err := tx.FeedRaw(q.Districts, q.Cursor, q.Limit)
		if err != nil {
			return err
		}
		own, err := ownFilter(tx, q)
		if err != nil {
			return err
		}
		page.More = more
		// Take entries while they fit the budget; an entry left out (the
		// device's own) costs nothing but moves the cursor past it.
		size, n := 0, 0
		skip := make([]bool, len(entries))
		for i, e := range entries {
			if skip[i], err = own(e); err != nil {
				return err
			}
			if !skip[i] && size > 0 && size+len(e.Record) > q.MaxBytes {
				page.More = true
				break
			}
			if !skip[i] {
				size += len(e.Record)
			}
			n++
		}
		entries = entries[:n]
		if n > 0 {
			page.Cursor = entries[n-1].Seq
		}
		// The entries' bytes belong to the transaction: copy them out, into
		// one buffer.
		buf := make([]byte, 0, size)
		for i, e := range entries {
			if skip[i] {
				continue
			}
			start := len(buf)
			buf = append(buf, e.Record...)
			page.Records = append(page.Records, buf[start:len(buf):len(buf)])
		}
		return nil
	})
	return page, err
}

// ownFilter reports the feed entries that are q.Device's own changes, up
// to q.Held, applied to a state it held (see PullQuery.Device). A device that never pushed has
// none, and nothing is looked up.
func ownFilter(tx Tx, q PullQuery) (func(FeedEntry) (bool, error), error) {
	none := func(FeedEntry) (bool, error) { return false, nil }
	if q.Device == "" || q.Held == 0 {
		return none, nil
	}
	if n, err := tx.DeviceCounter(q.Device); err != nil || n == 0 {
		return none, err
	}
	return func(e FeedEntry) (bool, error) {
		ch, err := tx.ChangeBySeq(e.Seq)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		if err != nil || ch.Device != q.Device || ch.Counter > q.Held {
			return false, err
		}
		res, err := tx.Result(ch.ID)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		return err == nil && res.Seq == e.Seq && res.Folded, err
	}, nil
}
