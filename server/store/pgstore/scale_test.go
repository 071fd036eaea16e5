package pgstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/bench"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/pgstore"
	"github.com/dengji/dengji/server/store/pgstore/pgtest"
	dsync "github.com/dengji/dengji/sync"
)

// BenchmarkScale measures, on the server's side alone, a push of 30,000
// registrations (batches of 1,000) into one district and the bootstrap of
// that district (pulls of 5,000 from cursor 0), on a store already holding
// DENGJI_BENCH_FILL records (0 if unset) of 3,000 other districts, with a
// change and a result each, written by SQL. Compare a run with a fill to
// one without:
//
//	DENGJI_BENCH_FILL=10000000 go test ./server/store/pgstore -run X -bench Scale -benchtime 1x
//
// DENGJI_BENCH_URL names a database (or schema) to keep instead of a
// scratch schema: filled once, it serves run after run (each run pushes
// into a district of its own).
func BenchmarkScale(b *testing.B) {
	ctx := context.Background()
	fill, _ := strconv.Atoi(os.Getenv("DENGJI_BENCH_FILL"))
	u := os.Getenv("DENGJI_BENCH_URL")
	if u == "" {
		u = pgtest.URL(b)
	}
	st, err := pgstore.Open(ctx, u)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var high uint64
	st.View(ctx, func(tx store.Tx) error { high, err = tx.HighSeq(); return err })
	if high == 0 {
		start := time.Now()
		if err := fillSQL(ctx, st, fill); err != nil {
			b.Fatal(err)
		}
		b.Logf("filled %d records in %s", fill, time.Since(start).Round(time.Second))
	}
	const n, batch = 30000, 1000
	district := fmt.Sprintf("430102%06d", rand.IntN(1_000_000))
	validate := store.ModelValidator(model.Rules{ElectionDay: time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC)})
	rng := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	for range b.N {
		var pushTime time.Duration
		for i := 0; i < n; i += batch {
			chs := make([]dsync.Change, batch)
			for j := range chs {
				k := uint64(i + j + 1)
				chs[j] = dsync.Change{ID: fmt.Sprintf("c-%s-%06d", district, k), Device: "dev-" + district,
					Counter: k, Record: fmt.Sprintf("r-%s-%06d", district, k), Type: model.TypeRegistration,
					District: district, Op: dsync.OpCreate, Set: bench.Registration(rng, int(k))}
			}
			t0 := time.Now()
			if _, err := store.Push(ctx, st, store.PushRequest{Device: "dev-" + district, Changes: chs, Validate: validate}); err != nil {
				b.Fatal(err)
			}
			pushTime += time.Since(t0)
		}
		t0 := time.Now()
		got := 0
		for cursor, more := uint64(0), true; more; {
			page, err := store.Pull(ctx, st, []string{district}, cursor, 5000)
			if err != nil {
				b.Fatal(err)
			}
			got += len(page.Records)
			cursor, more = page.Cursor, page.More
		}
		if got != n {
			b.Fatalf("bootstrap read %d records, want %d", got, n)
		}
		b.ReportMetric(float64(n)/pushTime.Seconds(), "push-records/s")
		b.ReportMetric(time.Since(t0).Seconds(), "bootstrap-s")
	}
}

// fillSQL writes n records (about 450 bytes each) of 3,000 districts of
// another county, a change and a result each, and moves the sequence past
// them, in chunks of a million rows.
func fillSQL(ctx context.Context, st *pgstore.Store, n int) error {
	const chunk = 1_000_000
	for lo := 1; lo <= n; lo += chunk {
		hi := min(lo+chunk-1, n)
		for _, sql := range []string{`
			INSERT INTO records (id, type, district, seq, deleted, data)
			SELECT 'f-' || lpad(i::text, 10, '0'), 'registration', '430103' || lpad((i % 3000)::text, 6, '0'), i, false,
				convert_to('{"id":"f-' || i || '","type":"registration","district":"430103' || lpad((i % 3000)::text, 6, '0') ||
				'","fields":{"name":{"v":"张伟' || i || '","ver":"c-' || i || '"},"note":{"v":"' || repeat('x', 330) ||
				'","ver":"c-' || i || '"}},"hlc":"0"}', 'UTF8')
			FROM generate_series($1::bigint, $2::bigint) i`, `
			INSERT INTO changes (seq, data) SELECT i, convert_to('{"id":"fc-' || i || '","seq":' || i || repeat(' ', 200) || '}', 'UTF8')
			FROM generate_series($1::bigint, $2::bigint) i`, `
			INSERT INTO results (change_id, data) SELECT 'fc-' || lpad(i::text, 10, '0'), convert_to('{"status":"applied","seq":' || i || '}', 'UTF8')
			FROM generate_series($1::bigint, $2::bigint) i`, `
			UPDATE meta SET value = greatest(value, $2) WHERE key = 'seq' AND $1::bigint > 0`,
		} {
			if err := st.Exec(ctx, sql, lo, hi); err != nil {
				return err
			}
		}
	}
	if n == 0 {
		return nil
	}
	return st.Exec(ctx, "ANALYZE")
}
