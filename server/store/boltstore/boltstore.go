// Package boltstore is the embedded bbolt backend of store.Store: one file in
// the data directory, the default for a county server.
package boltstore

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	json "github.com/dengji/dengji/internal/jsonx"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// FileName is the database file inside the data directory.
const FileName = "dengji.db"

// Store is a bbolt-backed store.Store.
type Store struct {
	db *bolt.DB
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database in dir.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("boltstore: create data dir: %w", err)
	}
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, &bolt.Options{
		Timeout:        time.Second,
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, store.ErrBusy
	}
	if err != nil {
		return nil, fmt.Errorf("boltstore: open: %w", err)
	}
	s := &Store{db: db}
	if err := s.migrate(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) migrate() error {
	return s.db.Update(func(btx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := btx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("boltstore: create bucket %s: %w", b, err)
			}
		}
		meta := btx.Bucket(bucketMeta)
		v := meta.Get([]byte("schema"))
		switch {
		case v == nil:
			return meta.Put([]byte("schema"), u64(schemaVersion))
		case binary.BigEndian.Uint64(v) > schemaVersion:
			return fmt.Errorf("boltstore: data written by a newer Dengji (schema %d > %d)",
				binary.BigEndian.Uint64(v), schemaVersion)
		case binary.BigEndian.Uint64(v) < 2:
			if err := indexRecordLog(btx); err != nil {
				return fmt.Errorf("boltstore: migrate to schema 2: %w", err)
			}
			return meta.Put([]byte("schema"), u64(schemaVersion))
		}
		return nil
	})
}

// indexRecordLog fills record_log from the change log (schema 1 to 2).
func indexRecordLog(btx *bolt.Tx) error {
	idx := btx.Bucket(bucketRecordLog)
	return btx.Bucket(bucketChanges).ForEach(func(k, v []byte) error {
		var ch dsync.Change
		if err := store.DecodeChange(v, &ch); err != nil {
			return fmt.Errorf("change %d: %w", binary.BigEndian.Uint64(k), err)
		}
		return idx.Put(feedKey(ch.Record, binary.BigEndian.Uint64(k)), nil)
	})
}

// Close closes the database file.
func (s *Store) Close() error { return s.db.Close() }

// Update runs fn in a read-write transaction.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(btx *bolt.Tx) error { return fn(&tx{btx}) })
}

// View runs fn in a read-only transaction.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(func(btx *bolt.Tx) error { return fn(&tx{btx}) })
}

type tx struct{ btx *bolt.Tx }

func (t *tx) b(name []byte) *bolt.Bucket {
	b := t.btx.Bucket(name)
	if appendMostly[string(name)] {
		b.FillPercent = 0.9
	}
	return b
}

func (t *tx) getJSON(bucket []byte, key string, v any) error {
	data := t.b(bucket).Get([]byte(key))
	if data == nil {
		return store.ErrNotFound
	}
	return json.Unmarshal(data, v)
}

// getAs decodes the value at key, or returns store.ErrNotFound.
func getAs[T any](t *tx, bucket []byte, key string) (*T, error) {
	var v T
	if err := t.getJSON(bucket, key, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// listAs decodes every value of a bucket, in key order.
func listAs[T any](t *tx, bucket []byte) ([]T, error) {
	var out []T
	err := t.b(bucket).ForEach(func(_, data []byte) error {
		var v T
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

func (t *tx) putJSON(bucket []byte, key string, v any) error {
	data, err := json.MarshalUnordered(v)
	if err != nil {
		return err
	}
	return t.b(bucket).Put([]byte(key), data)
}

func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// districtKey is an index key: district, a zero byte, then the ID, so one
// district's entries sort together.
func districtKey(district, id string) []byte {
	k := make([]byte, 0, len(district)+1+len(id))
	k = append(append(k, district...), 0)
	return append(k, id...)
}

// feedValue is a feed entry's value: a tombstone flag, then the record ID.
func feedValue(rec *dsync.Record) []byte {
	flag := byte(0)
	if rec.Deleted() {
		flag = 1
	}
	return append([]byte{flag}, rec.ID...)
}

func feedKey(district string, seq uint64) []byte {
	k := make([]byte, 0, len(district)+9)
	k = append(k, district...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, seq)
}

// --- records, change log, results ---

func (t *tx) Record(id string) (*dsync.Record, error) {
	data := t.b(bucketRecords).Get([]byte(id))
	if data == nil {
		return nil, store.ErrNotFound
	}
	var r dsync.Record
	if err := store.DecodeRecord(data, &r); err != nil {
		return nil, fmt.Errorf("boltstore: record %s: %w", id, err)
	}
	return &r, nil
}

func (t *tx) PutRecord(rec *dsync.Record, prevSeq uint64) error {
	feed := t.b(bucketFeed)
	if prevSeq != 0 {
		if err := feed.Delete(feedKey(rec.District, prevSeq)); err != nil {
			return err
		}
	}
	if err := feed.Put(feedKey(rec.District, rec.Seq), feedValue(rec)); err != nil {
		return err
	}
	return t.b(bucketRecords).Put([]byte(rec.ID), rec.AppendJSON(nil))
}

func (t *tx) NextSeq() (uint64, error) { return t.b(bucketChanges).NextSequence() }

func (t *tx) HighSeq() (uint64, error) { return t.b(bucketChanges).Sequence(), nil }

func (t *tx) AppendChange(seq uint64, ch *dsync.Change) error {
	if err := t.b(bucketRecordLog).Put(feedKey(ch.Record, seq), nil); err != nil {
		return err
	}
	return t.b(bucketChanges).Put(u64(seq), ch.AppendJSON(nil))
}

// RecordChanges lists the sequence numbers of a record's changes, in order.
func (t *tx) RecordChanges(record string) ([]uint64, error) {
	prefix := append([]byte(record), 0)
	var out []uint64
	c := t.b(bucketRecordLog).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(k) == len(prefix)+8 {
			out = append(out, binary.BigEndian.Uint64(k[len(prefix):]))
		}
	}
	return out, nil
}

func (t *tx) ChangeBySeq(seq uint64) (*dsync.Change, error) {
	data := t.b(bucketChanges).Get(u64(seq))
	if data == nil {
		return nil, store.ErrNotFound
	}
	var ch dsync.Change
	return &ch, store.DecodeChange(data, &ch)
}

func (t *tx) Result(changeID string) (*dsync.Result, error) {
	return getAs[dsync.Result](t, bucketResults, changeID)
}

func (t *tx) PutResult(r *dsync.Result) error { return t.putJSON(bucketResults, r.Change, r) }

func (t *tx) DeviceCounter(device string) (uint64, error) {
	v := t.b(bucketCounters).Get([]byte(device))
	if v == nil {
		return 0, nil
	}
	return binary.BigEndian.Uint64(v), nil
}

func (t *tx) SetDeviceCounter(device string, n uint64) error {
	return t.b(bucketCounters).Put([]byte(device), u64(n))
}

// ForEachRecord skips a record no decoder reads and goes on; it then
// returns a *store.UnreadableError naming the records it skipped.
func (t *tx) ForEachRecord(typ string, fn func(*dsync.Record) error) error {
	var unreadable []string
	err := t.b(bucketRecords).ForEach(func(k, v []byte) error {
		var r dsync.Record
		if err := store.DecodeRecord(v, &r); err != nil {
			unreadable = append(unreadable, string(k))
			return nil
		}
		if typ != "" && r.Type != typ {
			return nil
		}
		return fn(&r)
	})
	if err == nil && unreadable != nil {
		err = &store.UnreadableError{IDs: unreadable}
	}
	return err
}

// ScanRecords passes every record in ID order, whatever its type: bbolt
// keeps no type apart from the record.
func (t *tx) ScanRecords(_ string, fn func(id, data []byte) error) error {
	return t.b(bucketRecords).ForEach(fn)
}

func (t *tx) Ref(key string) (string, error) {
	v := t.b(bucketRefs).Get([]byte(key))
	if v == nil {
		return "", store.ErrNotFound
	}
	return string(v), nil
}

func (t *tx) Refs(keys []string) (map[string]string, error) {
	out := make(map[string]string, len(keys))
	b := t.b(bucketRefs)
	for _, k := range keys {
		if v := b.Get([]byte(k)); v != nil {
			out[k] = string(v)
		}
	}
	return out, nil
}

func (t *tx) PutRef(key, recordID string) error {
	return t.b(bucketRefs).Put([]byte(key), []byte(recordID))
}

func (t *tx) District(code string) (*model.District, error) {
	return getAs[model.District](t, bucketDistricts, code)
}

func (t *tx) PutDistrict(d *model.District) error { return t.putJSON(bucketDistricts, d.Code, d) }

func (t *tx) Districts() ([]model.District, error) { return listAs[model.District](t, bucketDistricts) }

// --- conflicts ---

func (t *tx) Conflict(id string) (*dsync.Conflict, error) {
	return getAs[dsync.Conflict](t, bucketConflicts, id)
}

func (t *tx) PutConflict(c *dsync.Conflict) error {
	if err := t.b(bucketConflictIdx).Put(districtKey(c.District, c.ID), nil); err != nil {
		return err
	}
	return t.putJSON(bucketConflicts, c.ID, c)
}

// Conflicts reads the conflicts in ID order. With districts it gathers the
// IDs of every district's index first and sorts them, as dupCaseIDs does:
// reading district by district would page by district, and a coordinator
// paging with After across several would lose conflicts.
func (t *tx) Conflicts(q store.ConflictQuery) ([]dsync.Conflict, error) {
	var out []dsync.Conflict
	conflicts := t.b(bucketConflicts)
	collect := func(v []byte) (bool, error) {
		var c dsync.Conflict
		if err := json.Unmarshal(v, &c); err != nil {
			return false, err
		}
		if q.Status == "" || c.Status == q.Status {
			out = append(out, c)
		}
		return q.Limit > 0 && len(out) >= q.Limit, nil
	}
	if q.Districts == nil {
		c := conflicts.Cursor()
		for k, v := c.Seek([]byte(q.After)); k != nil; k, v = c.Next() {
			if string(k) <= q.After {
				continue
			}
			if full, err := collect(v); full || err != nil {
				return out, err
			}
		}
		return out, nil
	}
	for _, id := range t.idsByDistrict(bucketConflictIdx, q.Districts, q.After) {
		if full, err := collect(conflicts.Get([]byte(id))); full || err != nil {
			return out, err
		}
	}
	return out, nil
}

// idsByDistrict lists the IDs above after that a district index (district
// 0x00 ID keys) holds for any of districts, sorted and each once.
func (t *tx) idsByDistrict(bucket []byte, districts []string, after string) []string {
	var ids []string
	for _, d := range districts {
		prefix := append([]byte(d), 0)
		c := t.b(bucket).Cursor()
		for k, _ := c.Seek(districtKey(d, after)); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if id := string(k[len(prefix):]); id > after {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// --- the feed ---

// Feed decodes what FeedRaw reads.
func (t *tx) Feed(districts []string, cursor uint64, limit int) ([]dsync.Record, bool, error) {
	entries, more, err := t.FeedRaw(districts, cursor, limit)
	if err != nil {
		return nil, false, err
	}
	recs := make([]dsync.Record, len(entries))
	for i, e := range entries {
		if err := store.DecodeRecord(e.Record, &recs[i]); err != nil {
			return nil, false, fmt.Errorf("boltstore: feed entry %d: %w", e.Seq, err)
		}
	}
	return recs, more, nil
}

// FeedRaw merges one cursor per district by sequence number. The records are
// bbolt's bytes, valid only for the transaction's life.
func (t *tx) FeedRaw(districts []string, cursor uint64, limit int) ([]store.FeedEntry, bool, error) {
	if districts == nil {
		districts, _ = t.FeedDistricts("")
	}
	h := &feedHeap{}
	for _, d := range districts {
		it := feedIter{c: t.b(bucketFeed).Cursor(), prefix: append([]byte(d), 0)}
		if it.seek(cursor + 1) {
			*h = append(*h, it)
		}
	}
	heap.Init(h)
	records := t.b(bucketRecords)
	out := make([]store.FeedEntry, 0, min(limit, 256))
	for h.Len() > 0 && len(out) < limit {
		it := &(*h)[0]
		data := records.Get(it.id)
		if data == nil {
			return nil, false, fmt.Errorf("boltstore: feed names missing record %s", it.id)
		}
		out = append(out, store.FeedEntry{Seq: it.seq, Deleted: it.deleted, Record: data})
		if it.next() {
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
	}
	return out, h.Len() > 0, nil
}

// FeedDistricts lists the districts in the feed that start with area by
// skipping from one district's entries to the next.
func (t *tx) FeedDistricts(area string) ([]string, error) {
	var ds []string
	c := t.b(bucketFeed).Cursor()
	for k, _ := c.Seek([]byte(area)); k != nil && bytes.HasPrefix(k, []byte(area)); {
		i := bytes.IndexByte(k, 0)
		ds = append(ds, string(k[:i]))
		k, _ = c.Seek(append(append([]byte{}, k[:i]...), 1))
	}
	return ds, nil
}

type feedIter struct {
	c       *bolt.Cursor
	prefix  []byte
	seq     uint64
	id      []byte
	deleted bool
}

func (it *feedIter) seek(seq uint64) bool {
	k, v := it.c.Seek(binary.BigEndian.AppendUint64(append([]byte{}, it.prefix...), seq))
	return it.load(k, v)
}

func (it *feedIter) next() bool { return it.load(it.c.Next()) }

func (it *feedIter) load(k, v []byte) bool {
	if k == nil || !bytes.HasPrefix(k, it.prefix) {
		return false
	}
	it.seq, it.deleted, it.id = binary.BigEndian.Uint64(k[len(it.prefix):]), v[0] == 1, v[1:]
	return true
}

type feedHeap []feedIter

func (h feedHeap) Len() int           { return len(h) }
func (h feedHeap) Less(i, j int) bool { return h[i].seq < h[j].seq }
func (h feedHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *feedHeap) Push(x any)        { *h = append(*h, x.(feedIter)) }
func (h *feedHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// --- accounts ---

func (t *tx) User(name string) (*store.User, error) { return getAs[store.User](t, bucketUsers, name) }

func (t *tx) PutUser(u *store.User) error { return t.putJSON(bucketUsers, u.Name, u) }

func (t *tx) Users() ([]store.User, error) { return listAs[store.User](t, bucketUsers) }

func (t *tx) Device(id string) (*store.Device, error) {
	return getAs[store.Device](t, bucketDevices, id)
}

func (t *tx) PutDevice(d *store.Device) error { return t.putJSON(bucketDevices, d.ID, d) }

func (t *tx) Devices() ([]store.Device, error) { return listAs[store.Device](t, bucketDevices) }

func (t *tx) RefreshToken(hash string) (*store.RefreshToken, error) {
	return getAs[store.RefreshToken](t, bucketRefresh, hash)
}

func (t *tx) PutRefreshToken(rt *store.RefreshToken) error {
	return t.putJSON(bucketRefresh, rt.Hash, rt)
}

func (t *tx) DeleteRefreshToken(hash string) error {
	return t.b(bucketRefresh).Delete([]byte(hash))
}

func (t *tx) RefreshFamily(id string) (*store.RefreshToken, error) {
	return getAs[store.RefreshToken](t, bucketSessions, id)
}

func (t *tx) PutRefreshFamily(rt *store.RefreshToken) error {
	if rt.Family == "" {
		return errors.New("boltstore: session without a family ID")
	}
	return t.putJSON(bucketSessions, rt.Family, rt)
}

func (t *tx) DeleteRefreshFamily(id string) error {
	return t.b(bucketSessions).Delete([]byte(id))
}

func (t *tx) DeleteRefreshTokens(device string) error {
	return t.deleteRefreshWhere(func(rt *store.RefreshToken) bool { return rt.Device == device })
}

func (t *tx) DeleteUserRefreshTokens(user, keep string) error {
	return t.deleteRefreshWhere(func(rt *store.RefreshToken) bool {
		return rt.User == user && (keep == "" || rt.Family != keep)
	})
}

// deleteRefreshWhere deletes the refresh tokens and sessions doomed selects.
// Both buckets hold a few entries per device: a scan is cheap.
func (t *tx) deleteRefreshWhere(doomed func(*store.RefreshToken) bool) error {
	for _, name := range [][]byte{bucketRefresh, bucketSessions} {
		b := t.b(name)
		var keys [][]byte
		err := b.ForEach(func(k, v []byte) error {
			var rt store.RefreshToken
			if err := json.Unmarshal(v, &rt); err != nil {
				return err
			}
			if doomed(&rt) {
				keys = append(keys, append([]byte{}, k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *tx) Setting(key string) ([]byte, error) {
	v := t.b(bucketSettings).Get([]byte(key))
	if v == nil {
		return nil, store.ErrNotFound
	}
	return append([]byte{}, v...), nil
}

func (t *tx) PutSetting(key string, value []byte) error {
	return t.b(bucketSettings).Put([]byte(key), value)
}

func (t *tx) DeleteSetting(key string) error {
	return t.b(bucketSettings).Delete([]byte(key))
}
