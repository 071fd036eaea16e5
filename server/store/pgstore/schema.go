package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ErrNewerSchema means the database was brought to a schema version this
// binary does not know: a newer dengji wrote it.
var ErrNewerSchema = errors.New("pgstore: database written by a newer Dengji")

// migrations are the schema's versions, in order: migrations[i] takes the
// database from version i to i+1. Append; never edit one that shipped.
//
// Every key is text COLLATE "C" (byte order, as bbolt's keys); every
// stored value bytea, byte for byte (never jsonb). The indexes serve the
// queries the server makes: the district feed and its districts
// (records_feed), the unscoped feed (records_seq), conflicts and duplicate
// cases by district, refresh tokens by device and user. district_feed is
// the district feed's query in a function of its own, so that it may turn
// off the plans that stale statistics would pick (a bitmap scan of a whole
// district and a sort on disk, right after a bulk push, before autovacuum
// has analysed the table): its ordered index scan is right at any size.
// Every table that
// holds a district's rows carries the district code, whose first six digits
// are the county: the distribution key of a Citus cluster (README).
var migrations = []string{
	`CREATE TABLE meta (key text COLLATE "C" PRIMARY KEY, value bigint NOT NULL);
	INSERT INTO meta VALUES ('seq', 0);
	CREATE TABLE records (
		id text COLLATE "C" PRIMARY KEY,
		type text COLLATE "C" NOT NULL,
		district text COLLATE "C" NOT NULL,
		seq bigint NOT NULL,
		deleted boolean NOT NULL,
		data bytea NOT NULL);
	CREATE INDEX records_feed ON records (district, seq);
	CREATE UNIQUE INDEX records_seq ON records (seq);
	CREATE TABLE changes (seq bigint PRIMARY KEY, data bytea NOT NULL);
	CREATE TABLE results (change_id text COLLATE "C" PRIMARY KEY, data bytea NOT NULL);
	CREATE TABLE counters (device text COLLATE "C" PRIMARY KEY, counter bigint NOT NULL);
	CREATE TABLE conflicts (
		id text COLLATE "C" PRIMARY KEY,
		district text COLLATE "C" NOT NULL,
		status text COLLATE "C" NOT NULL,
		data bytea NOT NULL);
	CREATE INDEX conflicts_district ON conflicts (district, id);
	CREATE TABLE refs (key text COLLATE "C" PRIMARY KEY, record_id text COLLATE "C" NOT NULL);
	CREATE TABLE districts (code text COLLATE "C" PRIMARY KEY, data bytea NOT NULL);
	CREATE TABLE users (name text COLLATE "C" PRIMARY KEY, data bytea NOT NULL);
	CREATE TABLE devices (id text COLLATE "C" PRIMARY KEY, data bytea NOT NULL);
	CREATE TABLE refresh_tokens (
		hash text COLLATE "C" PRIMARY KEY,
		user_name text COLLATE "C" NOT NULL,
		device text COLLATE "C" NOT NULL,
		family text COLLATE "C" NOT NULL,
		data bytea NOT NULL);
	CREATE INDEX refresh_tokens_device ON refresh_tokens (device);
	CREATE INDEX refresh_tokens_user ON refresh_tokens (user_name);
	CREATE TABLE sessions (
		family text COLLATE "C" PRIMARY KEY,
		user_name text COLLATE "C" NOT NULL,
		device text COLLATE "C" NOT NULL,
		data bytea NOT NULL);
	CREATE INDEX sessions_device ON sessions (device);
	CREATE INDEX sessions_user ON sessions (user_name);
	CREATE TABLE settings (key text COLLATE "C" PRIMARY KEY, value bytea NOT NULL);
	CREATE TABLE dup_cases (
		id text COLLATE "C" PRIMARY KEY,
		status text COLLATE "C" NOT NULL,
		data bytea NOT NULL);
	CREATE TABLE dup_case_members (
		district text COLLATE "C" NOT NULL,
		case_id text COLLATE "C" NOT NULL,
		PRIMARY KEY (district, case_id));
	CREATE INDEX dup_case_members_case ON dup_case_members (case_id);
	CREATE TABLE audit_log (seq bigint PRIMARY KEY, data bytea NOT NULL);
	CREATE FUNCTION district_feed(districts text[], after bigint, n bigint, budget bigint)
		RETURNS TABLE (seq bigint, deleted boolean, data bytea, total bigint)
		LANGUAGE sql STABLE SET enable_bitmapscan = off SET enable_seqscan = off AS $$
		SELECT seq, deleted, data, total FROM (
			SELECT seq, deleted, data, count(*) OVER () AS total,
				coalesce(sum(octet_length(data)) OVER (ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
			FROM (SELECT r.seq, r.deleted, r.data FROM unnest(districts) AS d(code)
				CROSS JOIN LATERAL (SELECT seq, deleted, data FROM records
					WHERE district = d.code AND seq > after ORDER BY district, seq LIMIT n) r
				ORDER BY r.seq LIMIT n) x) y
		WHERE before < budget ORDER BY seq
	$$;`,
	// 2: notices to registrars (store.NoticeTx), numbered by a sequence of
	// their own and read by district above a cursor.
	`INSERT INTO meta VALUES ('notice_seq', 0);
	CREATE TABLE notices (
		id text COLLATE "C" PRIMARY KEY,
		seq bigint NOT NULL UNIQUE,
		district text COLLATE "C" NOT NULL,
		data bytea NOT NULL);
	CREATE INDEX notices_district ON notices (district, seq);`,
	// 3: the changes' record, indexed: a record's history (RecordChanges).
	`ALTER TABLE changes ADD COLUMN record text COLLATE "C";
	UPDATE changes SET record = convert_from(data, 'UTF8')::json->>'record';
	ALTER TABLE changes ALTER COLUMN record SET NOT NULL;
	CREATE INDEX changes_record ON changes (record, seq);`,
}

// SchemaVersion is the schema this binary reads and writes.
var SchemaVersion = len(migrations)

// migrate applies the migrations the database lacks, each in its own
// transaction under the write lock, so that servers starting together
// migrate once and no writer runs on a half-migrated schema.
func (s *Store) migrate(ctx context.Context) error {
	for {
		done, err := s.migrateOne(ctx)
		if err != nil || done {
			return err
		}
	}
}

func (s *Store) migrateOne(ctx context.Context) (done bool, err error) {
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(ptx pgx.Tx) error {
		if _, err := ptx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", s.lockKey(writeLock)); err != nil {
			return err
		}
		_, err := ptx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL);
			INSERT INTO schema_version SELECT 0 WHERE NOT EXISTS (SELECT FROM schema_version)`)
		if err != nil {
			return err
		}
		var v int
		if err := ptx.QueryRow(ctx, "SELECT version FROM schema_version").Scan(&v); err != nil {
			return err
		}
		switch {
		case v > SchemaVersion:
			return fmt.Errorf("%w (schema %d > %d)", ErrNewerSchema, v, SchemaVersion)
		case v == SchemaVersion:
			done = true
			return nil
		}
		if _, err := ptx.Exec(ctx, migrations[v]); err != nil {
			return fmt.Errorf("schema %d: %w", v+1, err)
		}
		_, err = ptx.Exec(ctx, "UPDATE schema_version SET version = $1", v+1)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("pgstore: migrate: %w", err)
	}
	return done, nil
}
