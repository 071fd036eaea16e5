package bench

import (
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dengji/dengji/model"
	dsync "github.com/dengji/dengji/sync"
)

// BenchmarkPushWire reports what a push batch of 1,000 creates costs on
// the wire, in bytes per change, one change after another and as columns
// (dsync.FormatColumns, as the SDK sends it, gzip at its best level):
//
//	go test ./server/bench -run X -bench PushWire -benchtime 1x
func BenchmarkPushWire(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	body := []byte(`{"changes":[`)
	hlc := dsync.MakeHLC(time.Now().UnixMilli(), 0)
	dev := uuid.NewString()
	const n = 1000
	chs := make([]dsync.Change, n)
	for i := range chs {
		if i > 0 {
			body = append(body, ',')
		}
		hlc = hlc.Next()
		chs[i] = dsync.Change{ID: uuid.Must(uuid.NewV7()).String(), Device: dev, Counter: uint64(i + 1),
			Record: uuid.Must(uuid.NewV7()).String(), Type: model.TypeRegistration, District: fieldPushDistrict,
			Op: dsync.OpCreate, Set: model.Normalize(model.TypeRegistration, Registration(rng, i)), HLC: hlc}
		body = chs[i].AppendJSON(body)
	}
	body = append(body, "]}"...)
	cols := dsync.AppendColumns(nil, chs)
	if testing.Verbose() {
		fmt.Println(string(body[:700]))
	}
	report(b, "push_raw", len(body), n)
	report(b, "push_gzip1", len(gz(body, gzip.BestSpeed)), n)
	report(b, "push_gzip6", len(gz(body, gzip.DefaultCompression)), n)
	report(b, "push_gzip9", len(gz(body, gzip.BestCompression)), n)
	report(b, "columns_raw", len(cols), n)
	report(b, "columns_gzip1", len(gz(cols, gzip.BestSpeed)), n)
	report(b, "columns_gzip6", len(gz(cols, gzip.DefaultCompression)), n)
	report(b, "columns_gzip9", len(gz(cols, gzip.BestCompression)), n)
	for range b.N {
	}
}
