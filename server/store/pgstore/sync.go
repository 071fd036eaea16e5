package pgstore

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/jackc/pgx/v5"

	json "github.com/dengji/dengji/internal/jsonx"
	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// --- the sequence ---

// loadSeq reads the highest sequence number given out; a writer reads it
// once, under the write lock.
func (t *tx) loadSeq() error {
	if t.seqLoaded {
		return nil
	}
	var v int64
	if err := t.q.QueryRow(t.ctx, "SELECT value FROM meta WHERE key = 'seq'").Scan(&v); err != nil {
		return fmt.Errorf("pgstore: sequence: %w", err)
	}
	t.seq, t.seqLoaded = uint64(v), t.writer
	return nil
}

// saveSeq writes the sequence counter back before a writer commits.
func (t *tx) saveSeq() error {
	if !t.seqDirty {
		return nil
	}
	return t.exec("UPDATE meta SET value = $1 WHERE key = 'seq'", int64(t.seq))
}

func (t *tx) NextSeq() (uint64, error) {
	if !t.writer {
		return 0, errors.New("pgstore: NextSeq in a read-only transaction")
	}
	if err := t.loadSeq(); err != nil {
		return 0, err
	}
	t.seq++
	t.seqDirty = true
	return t.seq, nil
}

func (t *tx) HighSeq() (uint64, error) {
	err := t.loadSeq()
	return t.seq, err
}

// --- records, change log, results ---

func (t *tx) Record(id string) (*dsync.Record, error) {
	data, err := t.recordData(id)
	if err != nil {
		return nil, err
	}
	var r dsync.Record
	if err := store.DecodeRecord(data, &r); err != nil {
		return nil, fmt.Errorf("pgstore: record %s: %w", id, err)
	}
	return &r, nil
}

func (t *tx) recordData(id string) ([]byte, error) {
	if t.buf != nil {
		if r, ok := t.buf.records[id]; ok {
			return r.data, nil
		}
		if data, ok := t.buf.knownRecords[id]; ok {
			return orNotFound(data)
		}
	}
	return t.getBytes("SELECT data FROM records WHERE id = $1", id)
}

// orNotFound is data read ahead, or store.ErrNotFound for nil (known absent).
func orNotFound(data []byte) ([]byte, error) {
	if data == nil {
		return nil, store.ErrNotFound
	}
	return data, nil
}

// PutRecord stores the record; its row is its place in the feed, so
// prevSeq needs no entry of its own removed.
func (t *tx) PutRecord(rec *dsync.Record, _ uint64) error {
	if t.buf != nil {
		t.buf.records[rec.ID] = recordRow{typ: rec.Type, district: rec.District, seq: int64(rec.Seq),
			deleted: rec.Deleted(), data: rec.AppendJSON(nil)}
		return nil
	}
	return t.exec(`INSERT INTO records (id, type, district, seq, deleted, data) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET type = excluded.type, district = excluded.district, seq = excluded.seq,
			deleted = excluded.deleted, data = excluded.data`,
		rec.ID, rec.Type, rec.District, int64(rec.Seq), rec.Deleted(), rec.AppendJSON(nil))
}

func (t *tx) AppendChange(seq uint64, ch *dsync.Change) error {
	if t.buf != nil {
		t.buf.changes[int64(seq)] = changeRow{ch.Record, ch.AppendJSON(nil)}
		return nil
	}
	return t.exec("INSERT INTO changes (seq, record, data) VALUES ($1, $2, $3)", int64(seq), ch.Record, ch.AppendJSON(nil))
}

// RecordChanges reads the changes' record index (changes_record).
func (t *tx) RecordChanges(record string) ([]uint64, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	rows, err := t.q.Query(t.ctx, "SELECT seq FROM changes WHERE record = $1 ORDER BY seq", record)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (uint64, error) {
		var seq int64
		err := r.Scan(&seq)
		return uint64(seq), err
	})
}

func (t *tx) ChangeBySeq(seq uint64) (*dsync.Change, error) {
	if seq > math.MaxInt64 {
		return nil, store.ErrNotFound
	}
	var data []byte
	row, found := changeRow{}, false
	if t.buf != nil {
		row, found = t.buf.changes[int64(seq)]
	}
	var err error
	if found {
		data = row.data
	} else {
		data, err = t.getBytes("SELECT data FROM changes WHERE seq = $1", int64(seq))
	}
	if err != nil {
		return nil, err
	}
	var ch dsync.Change
	return &ch, store.DecodeChange(data, &ch)
}

func (t *tx) Result(changeID string) (*dsync.Result, error) {
	if t.buf != nil {
		if data, found := lookup(t.buf.results, t.buf.knownResults, changeID); found {
			data, err := orNotFound(data)
			if err != nil {
				return nil, err
			}
			var r dsync.Result
			return &r, json.Unmarshal(data, &r)
		}
	}
	return getJSON[dsync.Result](t, "SELECT data FROM results WHERE change_id = $1", changeID)
}

func (t *tx) PutResult(r *dsync.Result) error {
	if t.buf != nil {
		data, err := json.MarshalUnordered(r)
		t.buf.results[r.Change] = data
		return err
	}
	return t.putJSON(`INSERT INTO results (change_id, data) VALUES ($1, $2)
		ON CONFLICT (change_id) DO UPDATE SET data = excluded.data`, r, r.Change)
}

func (t *tx) DeviceCounter(device string) (uint64, error) {
	if t.buf != nil {
		if n, ok := t.buf.counters[device]; ok {
			return uint64(n), nil
		}
	}
	var n int64
	err := t.q.QueryRow(t.ctx, "SELECT counter FROM counters WHERE device = $1", device).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return uint64(n), err
}

func (t *tx) SetDeviceCounter(device string, n uint64) error {
	if t.buf != nil {
		t.buf.counters[device] = int64(n)
		return nil
	}
	return t.exec(`INSERT INTO counters (device, counter) VALUES ($1, $2)
		ON CONFLICT (device) DO UPDATE SET counter = excluded.counter`, device, int64(n))
}

// ForEachRecord reads the records in ID order a page at a time, each page
// in a query of its own that is closed before fn runs, so fn may use the
// transaction and a scan of millions holds a page in memory. A record no
// decoder reads is skipped and named in the *store.UnreadableError
// returned at the end.
func (t *tx) ForEachRecord(typ string, fn func(*dsync.Record) error) error {
	const page = 2000
	if err := t.flush(); err != nil {
		return err
	}
	var unreadable []string
	for after := ""; ; {
		rows, err := t.q.Query(t.ctx, `SELECT id, data FROM records WHERE id > $1 AND ($2 = '' OR type = $2)
			ORDER BY id LIMIT $3`, after, typ, page)
		if err != nil {
			return err
		}
		type row struct {
			id   string
			data []byte
		}
		batch, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var x row
			err := r.Scan(&x.id, &x.data)
			return x, err
		})
		if err != nil {
			return err
		}
		for _, x := range batch {
			var r dsync.Record
			if err := store.DecodeRecord(x.data, &r); err != nil {
				unreadable = append(unreadable, x.id)
				continue
			}
			if err := fn(&r); err != nil {
				return err
			}
		}
		if len(batch) < page {
			break
		}
		after = batch[len(batch)-1].id
	}
	if unreadable != nil {
		return &store.UnreadableError{IDs: unreadable}
	}
	return nil
}

// ScanRecords reads the records of a type in one query, a sequential
// scan streamed as PostgreSQL produces it: the fastest way to read them
// all (no page of an index walk nor a sort).
func (t *tx) ScanRecords(typ string, fn func(id, data []byte) error) error {
	if err := t.flush(); err != nil {
		return err
	}
	rows, err := t.q.Query(t.ctx, `SELECT id, data FROM records WHERE $1 = '' OR type = $1`, typ)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		raw := rows.RawValues() // reused by the next row
		if err := fn(raw[0], raw[1]); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (t *tx) Ref(key string) (string, error) {
	if t.buf != nil {
		if id, ok := t.buf.refs[key]; ok {
			return orNotFoundRef(id)
		}
	}
	var id string
	err := t.q.QueryRow(t.ctx, "SELECT record_id FROM refs WHERE key = $1", key).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", store.ErrNotFound
	}
	return id, err
}

// orNotFoundRef is a reference known to the buffer, or store.ErrNotFound
// for one known absent ("").
func orNotFoundRef(id string) (string, error) {
	if id == "" {
		return "", store.ErrNotFound
	}
	return id, nil
}

// Refs reads the keys in one query; a writer remembers the answers (found
// or not), so the Ref and PutRef of each key that follow cost no query.
func (t *tx) Refs(keys []string) (map[string]string, error) {
	out := make(map[string]string, len(keys))
	var ask []string
	for _, k := range keys {
		if t.buf == nil {
			ask = append(ask, k)
		} else if id, ok := t.buf.refs[k]; !ok {
			ask = append(ask, k)
		} else if id != "" {
			out[k] = id
		}
	}
	if len(ask) == 0 {
		return out, nil
	}
	rows, err := t.q.Query(t.ctx, "SELECT key, record_id FROM refs WHERE key = ANY($1)", ask)
	if err != nil {
		return nil, err
	}
	var k, id string
	if _, err := pgx.ForEachRow(rows, []any{&k, &id}, func() error { out[k] = id; return nil }); err != nil {
		return nil, err
	}
	if t.buf != nil {
		for _, k := range ask {
			t.buf.refs[k] = out[k] // "" for known absent
			if out[k] == "" {
				t.buf.newRefs[k] = true
			}
		}
	}
	return out, nil
}

func (t *tx) PutRef(key, recordID string) error {
	if t.buf != nil {
		t.buf.refs[key] = recordID
		t.buf.writtenRefs[key] = true
		return nil
	}
	return t.exec(`INSERT INTO refs (key, record_id) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET record_id = excluded.record_id`, key, recordID)
}

func (t *tx) District(code string) (*model.District, error) {
	return getJSON[model.District](t, "SELECT data FROM districts WHERE code = $1", code)
}

func (t *tx) PutDistrict(d *model.District) error {
	return t.putJSON(`INSERT INTO districts (code, data) VALUES ($1, $2)
		ON CONFLICT (code) DO UPDATE SET data = excluded.data`, d, d.Code)
}

func (t *tx) Districts() ([]model.District, error) {
	return listJSON[model.District](t, "SELECT data FROM districts ORDER BY code")
}

// --- conflicts ---

func (t *tx) Conflict(id string) (*dsync.Conflict, error) {
	return getJSON[dsync.Conflict](t, "SELECT data FROM conflicts WHERE id = $1", id)
}

func (t *tx) PutConflict(c *dsync.Conflict) error {
	data, err := json.MarshalUnordered(c)
	if err != nil {
		return err
	}
	return t.exec(`INSERT INTO conflicts (id, district, status, data) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET district = excluded.district, status = excluded.status, data = excluded.data`,
		c.ID, c.District, string(c.Status), data)
}

func (t *tx) Conflicts(q store.ConflictQuery) ([]dsync.Conflict, error) {
	sql := `SELECT data FROM conflicts WHERE id > $1 AND ($2 = '' OR status = $2)`
	args := []any{q.After, string(q.Status), limitArg(q.Limit)}
	if q.Districts != nil {
		sql += ` AND district = ANY($4)`
		args = append(args, q.Districts)
	}
	return listJSON[dsync.Conflict](t, sql+` ORDER BY id LIMIT $3`, args...)
}

// limitArg is a LIMIT parameter: NULL (no limit) for limit <= 0.
func limitArg(limit int) *int64 {
	if limit <= 0 {
		return nil
	}
	n := int64(limit)
	return &n
}

// --- the feed ---

func (t *tx) Feed(districts []string, cursor uint64, limit int) ([]dsync.Record, bool, error) {
	entries, more, err := t.FeedRaw(districts, cursor, limit)
	if err != nil {
		return nil, false, err
	}
	recs := make([]dsync.Record, len(entries))
	for i, e := range entries {
		if err := store.DecodeRecord(e.Record, &recs[i]); err != nil {
			return nil, false, fmt.Errorf("pgstore: feed entry %d: %w", e.Seq, err)
		}
	}
	return recs, more, nil
}

// FeedRaw reads one more entry than asked, to tell whether more follow.
// For districts it reads each district's next entries through
// records_feed (a LATERAL per district, as bbolt's merge of one cursor per
// district) and merges them by sequence, so a page costs the same however
// large the other districts are. It returns at most feedRows entries, and
// no more than a pull page's bytes (store.MaxPullBytes, and the entry that
// passes it), with more set: "up to limit" lets it, and a pull, which stops
// at that budget, would otherwise have the database send it five times the
// rows it uses.
func (t *tx) FeedRaw(districts []string, cursor uint64, limit int) ([]store.FeedEntry, bool, error) {
	if limit <= 0 || cursor >= math.MaxInt64 {
		return nil, false, nil
	}
	if err := t.flush(); err != nil {
		return nil, false, err
	}
	limit = min(limit, feedRows)
	var rows pgx.Rows
	var err error
	if districts == nil {
		rows, err = t.q.Query(t.ctx, `SELECT seq, deleted, data, total FROM (
				SELECT seq, deleted, data, count(*) OVER () AS total,
					coalesce(sum(octet_length(data)) OVER (ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
				FROM (SELECT seq, deleted, data FROM records WHERE seq > $1 ORDER BY seq LIMIT $2) x) y
			WHERE before < $3 ORDER BY seq`, int64(cursor), limit+1, store.MaxPullBytes)
	} else {
		rows, err = t.q.Query(t.ctx, `SELECT * FROM district_feed($1, $2, $3, $4)`,
			distinct(districts), int64(cursor), limit+1, store.MaxPullBytes)
	}
	if err != nil {
		return nil, false, err
	}
	var n int64
	entries, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.FeedEntry, error) {
		var e store.FeedEntry
		var seq int64
		err := r.Scan(&seq, &e.Deleted, &e.Record, &n)
		e.Seq = uint64(seq)
		return e, err
	})
	if err != nil {
		return nil, false, err
	}
	if len(entries) > limit {
		entries = entries[:limit]
	}
	return entries, n > int64(len(entries)), nil
}

// feedRows bounds the entries one FeedRaw reads: a pull page of a
// megabyte holds about a thousand registrations.
const feedRows = 2000

// distinct returns ds without repeats.
func distinct(ds []string) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// FeedDistricts skips through records_feed from one district to the next
// (a loose index scan): a step per district, not per record.
func (t *tx) FeedDistricts(area string) ([]string, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	rows, err := t.q.Query(t.ctx, `WITH RECURSIVE d(code) AS (
			(SELECT district FROM records WHERE district >= $1 ORDER BY district LIMIT 1)
			UNION ALL
			SELECT (SELECT district FROM records WHERE district > d.code ORDER BY district LIMIT 1)
			FROM d WHERE starts_with(d.code, $1))
		SELECT code FROM d WHERE starts_with(code, $1)`, area)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// --- JSON values ---

// getJSON decodes the one value a query reads, or returns store.ErrNotFound.
func getJSON[T any](t *tx, sql string, args ...any) (*T, error) {
	data, err := t.getBytes(sql, args...)
	if err != nil {
		return nil, err
	}
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// listJSON decodes every value a query reads, in its order.
func listJSON[T any](t *tx, sql string, args ...any) ([]T, error) {
	datas, err := t.listBytes(sql, args...)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(datas))
	for i, data := range datas {
		if err := json.Unmarshal(data, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// putJSON runs an upsert whose last parameter is v's JSON after keys.
func (t *tx) putJSON(sql string, v any, keys ...any) error {
	data, err := json.MarshalUnordered(v)
	if err != nil {
		return err
	}
	return t.exec(sql, append(keys, data)...)
}
