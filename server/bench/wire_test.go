package bench

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore"
)

// BenchmarkWireEncoding measures what a pull page of 2,000 seeded
// registrations costs on the wire in each candidate encoding, in bytes per
// record (the figures behind the choice in the README):
//
//	go test ./server/bench -run X -bench WireEncoding -benchtime 1x
func BenchmarkWireEncoding(b *testing.B) {
	ctx := context.Background()
	st, err := boltstore.Open(filepath.Join(b.TempDir(), "server"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const n = 2000
	if err := seed(ctx, st, n); err != nil {
		b.Fatal(err)
	}
	page, err := store.PullBytes(ctx, st, nil, 0, n, 64<<20)
	if err != nil {
		b.Fatal(err)
	}
	plain := page.AppendJSON(nil)
	compact := page.AppendCompactJSON(nil)
	var recs []json.RawMessage
	json.Unmarshal(plain, &struct{ Records *[]json.RawMessage }{&recs})
	for name, body := range map[string][]byte{"json": plain, "compact": compact} {
		report(b, name+"_raw", len(body), n)
		report(b, name+"_gzip1", len(gz(body, gzip.BestSpeed)), n)
		report(b, name+"_gzip6", len(gz(body, gzip.DefaultCompression)), n)
		report(b, name+"_gzip9", len(gz(body, gzip.BestCompression)), n)
		report(b, name+"_zstd", len(zs(body, zstd.SpeedDefault)), n)
		report(b, name+"_zstd_best", len(zs(body, zstd.SpeedBestCompression)), n)
	}
	for _, level := range []int{gzip.BestSpeed, gzip.DefaultCompression, gzip.BestCompression} {
		start := time.Now()
		gz(compact, level)
		b.ReportMetric(float64(time.Since(start).Microseconds())/1000, fmt.Sprintf("compact_gzip%d_ms", level))
	}
	for range b.N {
	}
}

func report(b *testing.B, name string, size, n int) {
	b.ReportMetric(float64(size)/float64(n), name+"_B/record")
}

func gz(b []byte, level int) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, level)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func zs(b []byte, level zstd.EncoderLevel) []byte {
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(level))
	return enc.EncodeAll(b, nil)
}
