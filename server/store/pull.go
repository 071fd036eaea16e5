package store

import (
	"context"
	"encoding/json"

	dsync "github.com/dengji/dengji/sync"
)

// Page is one page of the pull feed. It has the JSON shape of
// dsync.PullResponse, with records passed through as stored.
type Page struct {
	Records []json.RawMessage `json:"records"`
	Cursor  uint64            `json:"cursor"`
	More    bool              `json:"more"`
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
		for _, e := range entries {
			if cursor == 0 && e.Deleted {
				continue
			}
			page.Records = append(page.Records, e.Record)
		}
		return nil
	})
	return page, err
}
