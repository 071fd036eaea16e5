package boltstore_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore"
	dsync "github.com/dengji/dengji/sync"
)

// A data file of schema 1 (no record_log) gets its records' histories
// from the change log at its first open by this version.
func TestOpen_MigratesRecordLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := boltstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, op := range []dsync.Op{dsync.OpCreate, dsync.OpUpdate} {
		ch := dsync.Change{ID: "c" + string(rune('0'+i)), Device: "A", Counter: uint64(i + 1), Record: "r1",
			Type: "registration", District: "d1", Op: op, HLC: dsync.MakeHLC(1700000000000, uint16(i)),
			Set: map[string]json.RawMessage{"name": json.RawMessage(`"李碧辉"`)}, Base: map[string]string{}}
		if op == dsync.OpUpdate {
			var rec *dsync.Record
			s.View(ctx, func(tx store.Tx) error { rec, err = tx.Record("r1"); return err })
			ch.Base = map[string]string{"name": rec.Version("name"), dsync.FieldDeleted: ""}
		}
		if _, err := store.Push(ctx, s, store.PushRequest{Device: "A", Changes: []dsync.Change{ch}}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	// Make it a schema 1 file, as an older Dengji wrote it.
	db, err := bolt.Open(filepath.Join(dir, boltstore.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		tx.DeleteBucket([]byte("record_log"))
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), binary.BigEndian.AppendUint64(nil, 1))
	})
	db.Close()

	s, err = boltstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.View(ctx, func(tx store.Tx) error {
		seqs, err := tx.RecordChanges("r1")
		if err != nil || len(seqs) != 2 || seqs[0] != 1 || seqs[1] != 2 {
			t.Fatalf("history after migration: %v %v", seqs, err)
		}
		return nil
	})
}
