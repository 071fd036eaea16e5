package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/dengji/dengji/server/bench/fielddevice"
	"go.etcd.io/bbolt"
)

func TestTmpFileStats(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e, err := startField(ctx, dir, 30000)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	file := filepath.Join(dir, "dev.db")
	r, err := fielddevice.Run(ctx, "bootstrap", e.srv.URL(), file)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(file)
	fmt.Printf("records %d file %d per %f\n", r.Records, fi.Size(), float64(fi.Size())/float64(r.Records))
	db, _ := bbolt.Open(file, 0600, &bbolt.Options{ReadOnly: true})
	defer db.Close()
	db.View(func(tx *bbolt.Tx) error {
		fmt.Printf("tx size %d pages %d\n", tx.Size(), tx.Size()/4096)
		st := db.Stats()
		fmt.Printf("free pages %d pending %d freealloc %d\n", st.FreePageN, st.PendingPageN, st.FreeAlloc)
		return tx.ForEach(func(name []byte, b *bbolt.Bucket) error {
			s := b.Stats()
			fmt.Printf("%-15s keys %6d leaf pages %6d (+overflow %d) inuse %d alloc %d branch %d\n", name, s.KeyN, s.LeafPageN, s.LeafOverflowN, s.LeafInuse, s.LeafAlloc, s.BranchAlloc)
			return nil
		})
	})
}
