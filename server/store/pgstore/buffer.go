package pgstore

import (
	"github.com/jackc/pgx/v5"
)

// buffer holds a writer's writes to the push path's tables until they are
// needed: one multi-row statement per table at commit, or before a query
// over ranges of those tables (the feed, a scan). Point reads look in the
// buffer first, then in what Preload read, then in the database, which
// under the write lock no other transaction changes meanwhile. A push of
// 1,000 changes costs a few round trips instead of eight thousand.
type buffer struct {
	records  map[string]recordRow
	changes  map[int64]changeRow
	results  map[string][]byte
	counters map[string]int64

	// known are values read ahead by Preload, nil for a key known absent.
	knownRecords map[string][]byte
	knownResults map[string][]byte
}

type changeRow struct {
	record string
	data   []byte
}

type recordRow struct {
	typ, district string
	seq           int64
	deleted       bool
	data          []byte
}

func newBuffer() *buffer {
	return &buffer{records: map[string]recordRow{}, changes: map[int64]changeRow{}, results: map[string][]byte{},
		counters: map[string]int64{}, knownRecords: map[string][]byte{}, knownResults: map[string][]byte{}}
}

func (b *buffer) empty() bool {
	return len(b.records) == 0 && len(b.changes) == 0 && len(b.results) == 0 && len(b.counters) == 0
}

// flush writes the buffer out in one round trip and empties it.
func (t *tx) flush() error {
	b := t.buf
	if b == nil || b.empty() {
		return nil
	}
	batch := &pgx.Batch{}
	if n := len(b.records); n > 0 {
		ids, types, districts := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
		seqs, deleted, datas := make([]int64, 0, n), make([]bool, 0, n), make([][]byte, 0, n)
		for id, r := range b.records {
			ids, types, districts = append(ids, id), append(types, r.typ), append(districts, r.district)
			seqs, deleted, datas = append(seqs, r.seq), append(deleted, r.deleted), append(datas, r.data)
		}
		batch.Queue(`INSERT INTO records (id, type, district, seq, deleted, data)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::boolean[], $6::bytea[])
			ON CONFLICT (id) DO UPDATE SET type = excluded.type, district = excluded.district, seq = excluded.seq,
				deleted = excluded.deleted, data = excluded.data`, ids, types, districts, seqs, deleted, datas)
	}
	if len(b.changes) > 0 {
		seqs, records, datas := make([]int64, 0, len(b.changes)), make([]string, 0, len(b.changes)), make([][]byte, 0, len(b.changes))
		for seq, c := range b.changes {
			seqs, records, datas = append(seqs, seq), append(records, c.record), append(datas, c.data)
		}
		batch.Queue(`INSERT INTO changes (seq, record, data) SELECT * FROM unnest($1::bigint[], $2::text[], $3::bytea[])`,
			seqs, records, datas)
	}
	if len(b.results) > 0 {
		ids, datas := pairs(b.results)
		batch.Queue(`INSERT INTO results (change_id, data) SELECT * FROM unnest($1::text[], $2::bytea[])
			ON CONFLICT (change_id) DO UPDATE SET data = excluded.data`, ids, datas)
	}
	if len(b.counters) > 0 {
		devices, counters := pairs(b.counters)
		batch.Queue(`INSERT INTO counters (device, counter) SELECT * FROM unnest($1::text[], $2::bigint[])
			ON CONFLICT (device) DO UPDATE SET counter = excluded.counter`, devices, counters)
	}
	if err := t.q.SendBatch(t.ctx, batch).Close(); err != nil {
		return err
	}
	clear(b.records)
	clear(b.changes)
	clear(b.results)
	clear(b.counters)
	return nil
}

// pairs splits a map into its keys and values, in the same order.
func pairs[K comparable, V any](m map[K]V) ([]K, []V) {
	ks, vs := make([]K, 0, len(m)), make([]V, 0, len(m))
	for k, v := range m {
		ks, vs = append(ks, k), append(vs, v)
	}
	return ks, vs
}

// Preload reads the stored results of changeIDs and the records of
// recordIDs in two queries, so that Push's reads of them cost nothing
// (store.Preloader).
func (t *tx) Preload(changeIDs, recordIDs []string) error {
	if t.buf == nil {
		return nil
	}
	for _, q := range []struct {
		sql   string
		ids   []string
		known map[string][]byte
	}{
		{"SELECT change_id, data FROM results WHERE change_id = ANY($1)", changeIDs, t.buf.knownResults},
		{"SELECT id, data FROM records WHERE id = ANY($1)", recordIDs, t.buf.knownRecords},
	} {
		for _, id := range q.ids {
			q.known[id] = nil
		}
		rows, err := t.q.Query(t.ctx, q.sql, q.ids)
		if err != nil {
			return err
		}
		var id string
		var data []byte
		_, err = pgx.ForEachRow(rows, []any{&id, &data}, func() error {
			q.known[id] = data
			data = nil
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// lookup finds a key written in this transaction or read ahead: found
// says whether the answer is known without asking the database; data is
// nil for a key known absent.
func lookup[K comparable](written map[K][]byte, known map[K][]byte, key K) (data []byte, found bool) {
	if data, ok := written[key]; ok {
		return data, true
	}
	data, ok := known[key]
	return data, ok
}
