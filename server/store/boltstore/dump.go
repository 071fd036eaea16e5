package boltstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"

	json "github.com/dengji/dengji/internal/jsonx"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

var _ store.Dumper = (*Store)(nil)

// dumpBuckets maps each dump kind to its bucket (meta is the sequences of
// the changes and notices buckets).
var dumpBuckets = map[string][]byte{
	"records": bucketRecords, "changes": bucketChanges, "results": bucketResults, "counters": bucketCounters,
	"conflicts": bucketConflicts, "users": bucketUsers, "devices": bucketDevices, "refresh": bucketRefresh,
	"sessions": bucketSessions, "settings": bucketSettings, "refs": bucketRefs, "districts": bucketDistricts,
	"dup_cases": bucketDupCases, "audit": bucketAudit, "notices": bucketNotices,
}

// seqKeyed are the buckets keyed by big-endian sequence numbers.
var seqKeyed = map[string]bool{"changes": true, "audit": true}

// Dump reads every entry in one read transaction.
func (s *Store) Dump(ctx context.Context, fn func(store.DumpEntry) error) error {
	return s.db.View(func(btx *bolt.Tx) error {
		for _, m := range []struct {
			key    string
			bucket []byte
		}{{"notice_seq", bucketNotices}, {"seq", bucketChanges}} { // in key order
			seq := btx.Bucket(m.bucket).Sequence()
			if err := fn(store.DumpEntry{Kind: "meta", Key: m.key, Value: strconv.AppendUint(nil, seq, 10)}); err != nil {
				return err
			}
		}
		for _, kind := range store.DumpKinds[1:] {
			err := btx.Bucket(dumpBuckets[kind]).ForEach(func(k, v []byte) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				e := store.DumpEntry{Kind: kind, Key: string(k), Value: v}
				if seqKeyed[kind] {
					e.Key = store.SeqKey(binary.BigEndian.Uint64(k))
				}
				if kind == "counters" {
					e.Value = strconv.AppendUint(nil, binary.BigEndian.Uint64(v), 10)
				}
				return fn(e)
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// Load stores entries as they were dumped, rebuilding the feed, the
// records' histories, the notices' numbering and the district indexes from
// the values.
func (s *Store) Load(ctx context.Context, entries []store.DumpEntry) error {
	return s.db.Update(func(btx *bolt.Tx) error {
		t := &tx{btx}
		for _, e := range entries {
			if err := t.load(e); err != nil {
				return fmt.Errorf("boltstore: load %s %q: %w", e.Kind, e.Key, err)
			}
		}
		return nil
	})
}

func (t *tx) load(e store.DumpEntry) error {
	key, value := []byte(e.Key), e.Value
	switch e.Kind {
	case "meta":
		n, err := strconv.ParseUint(string(value), 10, 64)
		if err != nil {
			return err
		}
		b := map[string][]byte{"seq": bucketChanges, "notice_seq": bucketNotices}[e.Key]
		if b == nil {
			return fmt.Errorf("unknown sequence")
		}
		return t.b(b).SetSequence(n)
	case "changes", "audit":
		n, err := store.ParseSeqKey(e.Key)
		if err != nil {
			return err
		}
		key = u64(n)
		if e.Kind == "changes" {
			var ch dsync.Change
			if err := store.DecodeChange(value, &ch); err != nil {
				return err
			}
			if err := t.b(bucketRecordLog).Put(feedKey(ch.Record, n), nil); err != nil {
				return err
			}
		}
	case "notices":
		var nt dsync.Notice
		if err := json.Unmarshal(value, &nt); err != nil {
			return err
		}
		if err := t.b(bucketNoticeSeq).Put(u64(nt.Seq), []byte(nt.ID)); err != nil {
			return err
		}
		if err := t.b(bucketNoticeIdx).Put(noticeIdxKey(nt.District, nt.Seq), []byte(nt.ID)); err != nil {
			return err
		}
	case "counters":
		n, err := strconv.ParseUint(string(value), 10, 64)
		if err != nil {
			return err
		}
		value = u64(n)
	case "records":
		var r dsync.Record
		if err := store.DecodeRecord(value, &r); err != nil {
			return err
		}
		if err := t.b(bucketFeed).Put(feedKey(r.District, r.Seq), feedValue(&r)); err != nil {
			return err
		}
	case "conflicts":
		var c dsync.Conflict
		if err := json.Unmarshal(value, &c); err != nil {
			return err
		}
		if err := t.b(bucketConflictIdx).Put(districtKey(c.District, c.ID), nil); err != nil {
			return err
		}
	case "dup_cases":
		var c store.DupCase
		if err := json.Unmarshal(value, &c); err != nil {
			return err
		}
		for _, d := range c.Districts() {
			if err := t.b(bucketDupCaseIdx).Put(dupIdxKey(d, c.ID), nil); err != nil {
				return err
			}
		}
	}
	b, ok := dumpBuckets[e.Kind]
	if !ok {
		return fmt.Errorf("unknown kind")
	}
	return t.b(b).Put(key, value)
}
