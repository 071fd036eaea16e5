package pgstore

import (
	"github.com/jackc/pgx/v5"
)

// buffer holds a writer's writes to the push path's tables until they are
// needed: at commit, or before a query over ranges of those tables (the
// feed, a scan, a list of cases), new rows by COPY and the others by one
// multi-row statement per table. Point reads look in the buffer first, then in what Preload read, then in the database, which
// under the write lock no other transaction changes meanwhile. A push of
// 1,000 changes costs a few round trips instead of eight thousand.
type buffer struct {
	records  map[string]recordRow
	changes  map[int64]changeRow
	results  map[string][]byte
	counters map[string]int64

	// refs are references known to this transaction: written, or read by
	// Refs ("" for a key known absent). writtenRefs are those to flush,
	// newRefs those known absent from the table (their rows go in by COPY).
	refs        map[string]string
	writtenRefs map[string]bool
	newRefs     map[string]bool

	// known are values read ahead by Preload, nil for a key known absent.
	knownRecords map[string][]byte
	knownResults map[string][]byte

	dupCases map[string]dupCaseRow // duplicate cases written, by ID
}

type dupCaseRow struct {
	status    string
	data      []byte
	districts []string
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
		counters: map[string]int64{}, knownRecords: map[string][]byte{}, knownResults: map[string][]byte{},
		refs: map[string]string{}, writtenRefs: map[string]bool{}, newRefs: map[string]bool{},
		dupCases: map[string]dupCaseRow{}}
}

func (b *buffer) empty() bool {
	return len(b.records) == 0 && len(b.changes) == 0 && len(b.results) == 0 && len(b.counters) == 0 &&
		len(b.writtenRefs) == 0 && len(b.dupCases) == 0
}

// flush writes the buffer out and empties it. Rows the transaction knows
// are new (Preload found no such key, and no earlier flush wrote it) go in
// by COPY, the cheapest way into PostgreSQL, and so do duplicate cases,
// whose old rows are deleted first; the rest (an edited record, a counter)
// in one multi-row upsert per table, all of those in one round trip.
func (t *tx) flush() error {
	b := t.buf
	if b == nil || b.empty() {
		return nil
	}
	var newRecords, newResults [][]any
	var changes [][]any
	batch := &pgx.Batch{}
	var ids, types, districts []string
	var seqs []int64
	var deleted []bool
	var datas [][]byte
	for id, r := range b.records {
		if data, known := b.knownRecords[id]; known && data == nil {
			newRecords = append(newRecords, []any{id, r.typ, r.district, r.seq, r.deleted, r.data})
		} else {
			ids, types, districts = append(ids, id), append(types, r.typ), append(districts, r.district)
			seqs, deleted, datas = append(seqs, r.seq), append(deleted, r.deleted), append(datas, r.data)
		}
		b.knownRecords[id] = r.data
	}
	if len(ids) > 0 {
		batch.Queue(`INSERT INTO records (id, type, district, seq, deleted, data)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::boolean[], $6::bytea[])
			ON CONFLICT (id) DO UPDATE SET type = excluded.type, district = excluded.district, seq = excluded.seq,
				deleted = excluded.deleted, data = excluded.data`, ids, types, districts, seqs, deleted, datas)
	}
	for seq, c := range b.changes {
		changes = append(changes, []any{seq, c.record, c.data})
	}
	var resultIDs []string
	var resultData [][]byte
	for id, data := range b.results {
		if old, known := b.knownResults[id]; known && old == nil {
			newResults = append(newResults, []any{id, data})
		} else {
			resultIDs, resultData = append(resultIDs, id), append(resultData, data)
		}
		b.knownResults[id] = data
	}
	if len(resultIDs) > 0 {
		batch.Queue(`INSERT INTO results (change_id, data) SELECT * FROM unnest($1::text[], $2::bytea[])
			ON CONFLICT (change_id) DO UPDATE SET data = excluded.data`, resultIDs, resultData)
	}
	var newRefs [][]any
	var refKeys, refIDs []string
	for k := range b.writtenRefs {
		if b.newRefs[k] {
			newRefs = append(newRefs, []any{k, b.refs[k]})
			delete(b.newRefs, k)
		} else {
			refKeys, refIDs = append(refKeys, k), append(refIDs, b.refs[k])
		}
	}
	if len(refKeys) > 0 {
		batch.Queue(`INSERT INTO refs (key, record_id) SELECT * FROM unnest($1::text[], $2::text[])
			ON CONFLICT (key) DO UPDATE SET record_id = excluded.record_id`, refKeys, refIDs)
	}
	var newCases, newMembers [][]any
	if len(b.dupCases) > 0 {
		// A case is written whole: its rows go, and the new ones go in by
		// COPY (upserting a full run's 400,000 cases and 800,000 members
		// took 20 s).
		ids := make([]string, 0, len(b.dupCases))
		for id, c := range b.dupCases {
			ids = append(ids, id)
			newCases = append(newCases, []any{id, c.status, c.data})
			for _, d := range c.districts {
				newMembers = append(newMembers, []any{d, id})
			}
		}
		for _, q := range []string{`DELETE FROM dup_case_members WHERE case_id = ANY($1)`, `DELETE FROM dup_cases WHERE id = ANY($1)`} {
			if _, err := t.q.Exec(t.ctx, q, ids); err != nil {
				return err
			}
		}
	}
	if len(b.counters) > 0 {
		devices, counters := pairs(b.counters)
		batch.Queue(`INSERT INTO counters (device, counter) SELECT * FROM unnest($1::text[], $2::bigint[])
			ON CONFLICT (device) DO UPDATE SET counter = excluded.counter`, devices, counters)
	}
	for _, c := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"records", []string{"id", "type", "district", "seq", "deleted", "data"}, newRecords},
		{"changes", []string{"seq", "record", "data"}, changes},
		{"results", []string{"change_id", "data"}, newResults},
		{"refs", []string{"key", "record_id"}, newRefs},
		{"dup_cases", []string{"id", "status", "data"}, newCases},
		{"dup_case_members", []string{"district", "case_id"}, newMembers},
	} {
		if len(c.rows) == 0 {
			continue
		}
		if _, err := t.q.CopyFrom(t.ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
			return err
		}
	}
	if batch.Len() > 0 {
		if err := t.q.SendBatch(t.ctx, batch).Close(); err != nil {
			return err
		}
	}
	clear(b.records)
	clear(b.changes)
	clear(b.results)
	clear(b.counters)
	clear(b.writtenRefs)
	clear(b.dupCases)
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
