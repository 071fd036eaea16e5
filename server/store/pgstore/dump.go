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
	"meta":      `SELECT key, convert_to(value::text, 'UTF8') FROM meta ORDER BY key`,
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
	"notices":   `SELECT id, data FROM notices ORDER BY id`,
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
// write lock: each table's rows in one COPY, the columns the queries use
// read from the values.
func (s *Store) Load(ctx context.Context, entries []store.DumpEntry) error {
	return s.Update(ctx, func(stx store.Tx) error {
		t := stx.(*tx)
		tables := map[string]*copyRows{}
		var order []string
		for _, e := range entries {
			if e.Kind == "meta" {
				n, err := strconv.ParseInt(string(e.Value), 10, 64)
				if err == nil {
					err = t.exec("UPDATE meta SET value = $2 WHERE key = $1", e.Key, n)
				}
				if err != nil {
					return fmt.Errorf("pgstore: load meta %q: %w", e.Key, err)
				}
				continue
			}
			rows, err := loadRows(e)
			if err != nil {
				return fmt.Errorf("pgstore: load %s %q: %w", e.Kind, e.Key, err)
			}
			for _, r := range rows {
				c, ok := tables[r.table]
				if !ok {
					c = &copyRows{cols: r.cols}
					tables[r.table] = c
					order = append(order, r.table)
				}
				c.rows = append(c.rows, r.values)
			}
		}
		for _, table := range order {
			c := tables[table]
			if _, err := t.q.CopyFrom(ctx, pgx.Identifier{table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
				return fmt.Errorf("pgstore: load %s: %w", table, err)
			}
		}
		return nil
	})
}

type copyRows struct {
	cols []string
	rows [][]any
}

// tableRow is one row of one table.
type tableRow struct {
	table  string
	cols   []string
	values []any
}

// loadRows turns an entry into its table's row (a duplicate case also
// into its members').
func loadRows(e store.DumpEntry) ([]tableRow, error) {
	k, v := e.Key, e.Value
	one := func(table string, cols []string, values ...any) []tableRow {
		return []tableRow{{table, cols, values}}
	}
	switch e.Kind {
	case "records":
		var r dsync.Record
		if err := store.DecodeRecord(v, &r); err != nil {
			return nil, err
		}
		return one("records", []string{"id", "type", "district", "seq", "deleted", "data"},
			k, r.Type, r.District, int64(r.Seq), r.Deleted(), v), nil
	case "changes":
		n, err := strconv.ParseInt(k, 10, 64)
		var ch dsync.Change
		if err == nil {
			err = store.DecodeChange(v, &ch)
		}
		return one("changes", []string{"seq", "record", "data"}, n, ch.Record, v), err
	case "audit":
		n, err := strconv.ParseInt(k, 10, 64)
		return one("audit_log", []string{"seq", "data"}, n, v), err
	case "counters":
		n, err := strconv.ParseInt(string(v), 10, 64)
		return one("counters", []string{"device", "counter"}, k, n), err
	case "conflicts":
		var c dsync.Conflict
		err := json.Unmarshal(v, &c)
		return one("conflicts", []string{"id", "district", "status", "data"}, k, c.District, string(c.Status), v), err
	case "refresh":
		var rt store.RefreshToken
		err := json.Unmarshal(v, &rt)
		return one("refresh_tokens", []string{"hash", "user_name", "device", "family", "data"},
			k, rt.User, rt.Device, rt.Family, v), err
	case "sessions":
		var rt store.RefreshToken
		err := json.Unmarshal(v, &rt)
		return one("sessions", []string{"family", "user_name", "device", "data"}, k, rt.User, rt.Device, v), err
	case "dup_cases":
		var c store.DupCase
		if err := json.Unmarshal(v, &c); err != nil {
			return nil, err
		}
		rows := one("dup_cases", []string{"id", "status", "data"}, k, string(c.Status), v)
		for _, d := range c.Districts() {
			rows = append(rows, tableRow{"dup_case_members", []string{"district", "case_id"}, []any{d, k}})
		}
		return rows, nil
	case "refs":
		return one("refs", []string{"key", "record_id"}, k, string(v)), nil
	case "notices":
		var nt dsync.Notice
		err := json.Unmarshal(v, &nt)
		return one("notices", []string{"id", "seq", "district", "data"}, k, int64(nt.Seq), nt.District, v), err
	}
	t, ok := plainLoads[e.Kind]
	if !ok {
		return nil, fmt.Errorf("unknown kind")
	}
	return one(t[0], []string{t[1], t[2]}, k, v), nil
}

// plainLoads are the kinds that are a key and a value only: table, key
// column, value column.
var plainLoads = map[string][3]string{
	"results":   {"results", "change_id", "data"},
	"users":     {"users", "name", "data"},
	"devices":   {"devices", "id", "data"},
	"settings":  {"settings", "key", "value"},
	"districts": {"districts", "code", "data"},
}
