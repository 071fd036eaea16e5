package store

import (
	"context"
	"encoding/json"
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
	if limit <= 0 || limit > dsync.MaxPullPage {
		limit = dsync.MaxPullPage
	}
	if maxBytes <= 0 {
		maxBytes = MaxPullBytes
	}
	page := &Page{Cursor: cursor, Records: []json.RawMessage{}}
	err := s.View(ctx, func(tx Tx) error {
		entries, more, err := tx.FeedRaw(districts, cursor, limit)
		if err != nil {
			return err
		}
		page.More = more
		// Take entries while they fit the budget.
		size, n := 0, 0
		for _, e := range entries {
			if size > 0 && size+len(e.Record) > maxBytes {
				page.More = true
				break
			}
			size += len(e.Record)
			n++
		}
		entries = entries[:n]
		if n > 0 {
			page.Cursor = entries[n-1].Seq
		}
		// The entries' bytes belong to the transaction: copy them out, into
		// one buffer.
		buf := make([]byte, 0, size)
		for _, e := range entries {
			start := len(buf)
			buf = append(buf, e.Record...)
			page.Records = append(page.Records, buf[start:len(buf):len(buf)])
		}
		return nil
	})
	return page, err
}
