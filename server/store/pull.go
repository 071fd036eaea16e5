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

// Pull reads one page of the change feed for the given districts (nil: all).
// From cursor 0 it is a snapshot: tombstones are left out, since a new device
// has nothing to delete.
func Pull(ctx context.Context, s Store, districts []string, cursor uint64, limit int) (*Page, error) {
	if limit <= 0 || limit > dsync.MaxPullPage {
		limit = dsync.MaxPullPage
	}
	page := &Page{Cursor: cursor, Records: []json.RawMessage{}}
	err := s.View(ctx, func(tx Tx) error {
		entries, more, err := tx.FeedRaw(districts, cursor, limit)
		if err != nil {
			return err
		}
		page.More = more
		if len(entries) > 0 {
			page.Cursor = entries[len(entries)-1].Seq
		}
		// The entries' bytes belong to the transaction: copy them out, into
		// one buffer.
		size := 0
		for _, e := range entries {
			size += len(e.Record)
		}
		buf := make([]byte, 0, size)
		for _, e := range entries {
			if cursor == 0 && e.Deleted {
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
