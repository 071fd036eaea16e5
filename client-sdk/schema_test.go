package sdk

import (
	"path/filepath"
	"testing"

	dsync "github.com/dengji/dengji/sync"
	"go.etcd.io/bbolt"
)

// A device file of schema 1 (records in plain JSON, every record's view a
// copy of its base) opens as schema 2: records compact, kept once.
func TestSchema_MigrateToCompact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "device.db")
	d := mustOpenPath(t, path, Options{})
	rec := &dsync.Record{ID: "r1", Type: "registration", District: "430102001001", Seq: 3,
		Fields: map[string]dsync.Field{"name": {Value: []byte(`"李碧辉"`), Version: "c1"}}}
	err := d.db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketBase, bucketView} {
			if err := tx.Bucket(b).Put([]byte("r1"), rec.AppendJSON(nil)); err != nil {
				return err
			}
		}
		return putU64Tx(tx, keySchema, 1)
	})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	d = mustOpenPath(t, path, Options{})
	got, err := d.Get("r1")
	if err != nil || string(got.Fields["name"].Value) != `"李碧辉"` || got.Version("name") != "c1" {
		t.Fatalf("after migration: %+v %v", got, err)
	}
	if found, _, err := d.Search("lbh", "", 10); err != nil || len(found) != 1 {
		t.Fatalf("search after migration: %+v %v", found, err)
	}
	d.db.View(func(tx *bbolt.Tx) error {
		if v := tx.Bucket(bucketView).Get([]byte("r1")); v != nil {
			t.Error("the view of a record without pending changes is kept")
		}
		if getU64Tx(tx, keySchema) != schemaVersion {
			t.Error("schema version not updated")
		}
		return nil
	})
}

// A device file of schema 2 (no summaries) opens as schema 3: every record
// as the app sees it (its view when it has one) gets its summary.
func TestSchema_MigrateToSummaries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "device.db")
	d := mustOpenPath(t, path, Options{})
	pending := must[string](t)(d.Create("registration", "430102001001", jsonFields(map[string]string{"name": "梁峻青"})))
	base := &dsync.Record{ID: "r1", Type: "registration", District: "430102001001", Seq: 3,
		Fields: map[string]dsync.Field{"name": {Value: []byte(`"李碧辉"`), Version: "c1"}}}
	err := d.db.Update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket(bucketBase).Put([]byte("r1"), base.AppendCompactJSON(nil)); err != nil {
			return err
		}
		if err := tx.DeleteBucket(bucketSummary); err != nil {
			return err
		}
		return putU64Tx(tx, keySchema, 2)
	})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	d = mustOpenPath(t, path, Options{})
	ss := must[[]*Summary](t)(summaries(d))
	if len(ss) != 2 || ss[0].ID != pending || ss[0].Name != "梁峻青" || ss[1].ID != "r1" || ss[1].Initials != "lbh" {
		t.Fatalf("summaries after migration: %+v", ss)
	}
}
