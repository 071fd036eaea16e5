package pgstore

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	json "github.com/dengji/dengji/internal/jsonx"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

var _ store.Dumper = (*Store)(nil)

// dumpQueries read each kind as (key, value) in key order, bytes compared.
var dumpQueries = map[string]string{
	"meta":      `SELECT key, convert_to(value::text, 'UTF8') FROM meta WHERE key = 'seq'`,
	"records":   `SELECT id, data FROM records ORDER BY id`,
	"changes":   `SELECT lpad(seq::text, 20, '0'), data FROM changes ORDER BY seq`,
	"results":   `SELECT change_id, data FROM results ORDER BY change_id`,
	"counters":  `SELECT device, convert_to(counter::text, 'UTF8') FROM counters ORDER BY device`,
	"conflicts": `SELECT id, data FROM conflicts ORDER BY id`,
	"users":     `SELECT name, data FROM users ORDER BY name`,
	"devices":   `SELECT id, data FROM devices ORDER BY id`,
	"refresh":   `SELECT hash, data FROM refresh_tokens ORDER BY hash`,
	"sessions":  `SELECT family, data FROM sessions ORDER BY family`,
	"settings":  `SELECT key, value FROM settings ORDER BY key`,
	"refs":      `SELECT key, convert_to(record_id, 'UTF8') FROM refs ORDER BY key`,
	"districts": `SELECT code, data FROM districts ORDER BY code`,
	"dup_cases": `SELECT id, data FROM dup_cases ORDER BY id`,
	"audit":     `SELECT lpad(seq::text, 20, '0'), data FROM audit_log ORDER BY seq`,
}

// Dump reads every entry on one snapshot, streaming each table.
func (s *Store) Dump(ctx context.Context, fn func(store.DumpEntry) error) error {
	return s.View(ctx, func(stx store.Tx) error {
		t := stx.(*tx)
		for _, kind := range store.DumpKinds {
			rows, err := t.q.Query(ctx, dumpQueries[kind])
			if err != nil {
				return fmt.Errorf("pgstore: dump %s: %w", kind, err)
			}
			var e store.DumpEntry
			e.Kind = kind
			if _, err := pgx.ForEachRow(rows, []any{&e.Key, &e.Value}, func() error { return fn(e) }); err != nil {
				return err
			}
		}
		return nil
	})
}

// Load stores entries as they were dumped, in one transaction under the
// write lock, the columns the queries use read from the values.
func (s *Store) Load(ctx context.Context, entries []store.DumpEntry) error {
	return s.Update(ctx, func(stx store.Tx) error {
		t := stx.(*tx)
		batch := &pgx.Batch{}
		for _, e := range entries {
			sql, args, err := loadStatement(e)
			if err != nil {
				return fmt.Errorf("pgstore: load %s %q: %w", e.Kind, e.Key, err)
			}
			batch.Queue(sql, args...)
		}
		return t.q.SendBatch(ctx, batch).Close()
	})
}

func loadStatement(e store.DumpEntry) (string, []any, error) {
	k, v := e.Key, e.Value
	switch e.Kind {
	case "meta":
		n, err := strconv.ParseInt(string(v), 10, 64)
		return `UPDATE meta SET value = $2 WHERE key = $1`, []any{k, n}, err
	case "records":
		var r dsync.Record
		if err := store.DecodeRecord(v, &r); err != nil {
			return "", nil, err
		}
		return `INSERT INTO records (id, type, district, seq, deleted, data) VALUES ($1, $2, $3, $4, $5, $6)`,
			[]any{k, r.Type, r.District, int64(r.Seq), r.Deleted(), v}, nil
	case "changes":
		n, err := strconv.ParseInt(k, 10, 64)
		var ch dsync.Change
		if err == nil {
			err = store.DecodeChange(v, &ch)
		}
		return `INSERT INTO changes (seq, record, data) VALUES ($1, $2, $3)`, []any{n, ch.Record, v}, err
	case "audit":
		n, err := strconv.ParseInt(k, 10, 64)
		return `INSERT INTO audit_log (seq, data) VALUES ($1, $2)`, []any{n, v}, err
	case "counters":
		n, err := strconv.ParseInt(string(v), 10, 64)
		return `INSERT INTO counters (device, counter) VALUES ($1, $2)`, []any{k, n}, err
	case "conflicts":
		var c dsync.Conflict
		err := json.Unmarshal(v, &c)
		return `INSERT INTO conflicts (id, district, status, data) VALUES ($1, $2, $3, $4)`,
			[]any{k, c.District, string(c.Status), v}, err
	case "refresh":
		var rt store.RefreshToken
		err := json.Unmarshal(v, &rt)
		return `INSERT INTO refresh_tokens (hash, user_name, device, family, data) VALUES ($1, $2, $3, $4, $5)`,
			[]any{k, rt.User, rt.Device, rt.Family, v}, err
	case "sessions":
		var rt store.RefreshToken
		err := json.Unmarshal(v, &rt)
		return `INSERT INTO sessions (family, user_name, device, data) VALUES ($1, $2, $3, $4)`,
			[]any{k, rt.User, rt.Device, v}, err
	case "dup_cases":
		var c store.DupCase
		err := json.Unmarshal(v, &c)
		return `WITH c AS (INSERT INTO dup_cases (id, status, data) VALUES ($1, $2, $3))
			INSERT INTO dup_case_members (district, case_id) SELECT unnest($4::text[]), $1`,
			[]any{k, string(c.Status), v, c.Districts()}, err
	case "refs":
		return `INSERT INTO refs (key, record_id) VALUES ($1, $2)`, []any{k, string(v)}, nil
	}
	sql, ok := plainLoads[e.Kind]
	if !ok {
		return "", nil, fmt.Errorf("unknown kind")
	}
	return sql, []any{k, v}, nil
}

// plainLoads store the kinds that are a key and a value only.
var plainLoads = map[string]string{
	"results":   `INSERT INTO results (change_id, data) VALUES ($1, $2)`,
	"users":     `INSERT INTO users (name, data) VALUES ($1, $2)`,
	"devices":   `INSERT INTO devices (id, data) VALUES ($1, $2)`,
	"settings":  `INSERT INTO settings (key, value) VALUES ($1, $2)`,
	"districts": `INSERT INTO districts (code, data) VALUES ($1, $2)`,
}
