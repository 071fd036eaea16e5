package store

import (
	"context"

	dsync "github.com/dengji/dengji/sync"
)

// Pull reads one page of the change feed for the given districts (nil: all).
// From cursor 0 it is a snapshot: tombstones are left out, since a new device
// has nothing to delete.
func Pull(ctx context.Context, s Store, districts []string, cursor uint64, limit int) (*dsync.PullResponse, error) {
	if limit <= 0 || limit > dsync.MaxPullPage {
		limit = dsync.MaxPullPage
	}
	resp := &dsync.PullResponse{Cursor: cursor, Records: []dsync.Record{}}
	err := s.View(ctx, func(tx Tx) error {
		recs, more, err := tx.Feed(districts, cursor, limit)
		if err != nil {
			return err
		}
		resp.More = more
		if len(recs) > 0 {
			resp.Cursor = recs[len(recs)-1].Seq
		}
		for _, r := range recs {
			if cursor == 0 && r.Deleted() {
				continue
			}
			resp.Records = append(resp.Records, r)
		}
		return nil
	})
	return resp, err
}
