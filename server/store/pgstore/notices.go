package pgstore

import (
	dsync "github.com/dengji/dengji/sync"
)

// --- notices to registrars ---

func (t *tx) Notice(id string) (*dsync.Notice, error) {
	return getJSON[dsync.Notice](t, "SELECT data FROM notices WHERE id = $1", id)
}

// PutNotice numbers n from the notices' own sequence, whose row stays
// locked until commit, so notices become visible in the order of their
// numbers (as the feed's do).
func (t *tx) PutNotice(n *dsync.Notice) error {
	var seq int64
	err := t.q.QueryRow(t.ctx, "UPDATE meta SET value = value + 1 WHERE key = 'notice_seq' RETURNING value").Scan(&seq)
	if err != nil {
		return err
	}
	n.Seq = uint64(seq)
	return t.putJSON(`INSERT INTO notices (id, seq, district, data) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, district = excluded.district, data = excluded.data`,
		n, n.ID, seq, n.District)
}

func (t *tx) Notices(districts []string, after uint64, limit int) ([]dsync.Notice, bool, error) {
	sql := `SELECT data FROM notices WHERE seq > $1`
	n := 0 // no limit
	if limit > 0 {
		n = limit + 1 // one more tells whether more follow
	}
	args := []any{int64(after), limitArg(n)}
	if districts != nil {
		sql += ` AND district = ANY($3)`
		args = append(args, districts)
	}
	ns, err := listJSON[dsync.Notice](t, sql+` ORDER BY seq LIMIT $2`, args...)
	if err != nil || limit <= 0 || len(ns) <= limit {
		return ns, false, err
	}
	return ns[:limit], true, nil
}
