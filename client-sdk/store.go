package sdk

import (
	"bytes"
	"fmt"

	json "github.com/dengji/dengji/internal/jsonx"
	dsync "github.com/dengji/dengji/sync"
	"go.etcd.io/bbolt"
)

// Rejection is a change the server refused, with its answer. The change's
// values stay here so nothing typed is ever lost.
type Rejection struct {
	Change dsync.Change `json:"change"`
	Result dsync.Result `json:"result"`
}

// getRecordTx reads a record from bucketBase or bucketView; nil if absent.
func getRecordTx(tx *bbolt.Tx, bucket []byte, id string) (*dsync.Record, error) {
	v := tx.Bucket(bucket).Get([]byte(id))
	if v == nil {
		return nil, nil
	}
	return decodeRecord(bucket, []byte(id), v)
}

func decodeRecord(bucket, id, v []byte) (*dsync.Record, error) {
	r, err := dsync.DecodeCompact(v)
	if err != nil {
		return nil, fmt.Errorf("decode %s record %s: %w", bucket, id, err)
	}
	return r, nil
}

// viewRecordTx reads a record as the app sees it: its view if it has
// changes pending, else its base; nil if absent.
func viewRecordTx(tx *bbolt.Tx, id string) (*dsync.Record, error) {
	if r, err := getRecordTx(tx, bucketView, id); r != nil || err != nil {
		return r, err
	}
	return getRecordTx(tx, bucketBase, id)
}

// putRecordTx stores a record in the compact encoding (dsync.FormatCompact):
// each version once, not once per field.
func putRecordTx(tx *bbolt.Tx, bucket []byte, r *dsync.Record) error {
	return putEncodedTx(tx, bucket, r, r.AppendCompactJSON(nil))
}

// putEncodedTx is putRecordTx with the record's compact encoding at hand.
func putEncodedTx(tx *bbolt.Tx, bucket []byte, r *dsync.Record, compact []byte) error {
	b := tx.Bucket(bucket)
	// Record IDs are UUIDv7, in time order: most puts append, and pages
	// split at bbolt's default half full would leave the file half empty.
	b.FillPercent = recordFill
	if err := b.Put([]byte(r.ID), compact); err != nil {
		return err
	}
	// The summary follows what the app sees: the view if there is one,
	// else the base.
	if bytes.Equal(bucket, bucketView) || tx.Bucket(bucketView).Get([]byte(r.ID)) == nil {
		return putSummaryTx(tx, r)
	}
	return nil
}

// recordFill is how full the record buckets' pages are filled before they
// split.
const recordFill = 0.9

// forEachViewTx calls fn with every record as the app sees it, in ID
// order, from the first ID above after ("" from the start), until fn
// returns false or an error: the base bucket and the view's records with
// pending changes, merged.
func forEachViewTx(tx *bbolt.Tx, after string, fn func(*dsync.Record) (bool, error)) error {
	bc, vc := tx.Bucket(bucketBase).Cursor(), tx.Bucket(bucketView).Cursor()
	seek := func(c *bbolt.Cursor) ([]byte, []byte) {
		if after == "" {
			return c.First()
		}
		k, v := c.Seek([]byte(after))
		if k != nil && string(k) == after {
			return c.Next()
		}
		return k, v
	}
	bk, bv := seek(bc)
	vk, vv := seek(vc)
	for bk != nil || vk != nil {
		var k, v, bucket []byte
		switch cmp := compareKeys(bk, vk); {
		case cmp < 0:
			k, v, bucket = bk, bv, bucketBase
			bk, bv = bc.Next()
		case cmp > 0:
			k, v, bucket = vk, vv, bucketView
			vk, vv = vc.Next()
		default: // both: the view has pending changes on top
			k, v, bucket = vk, vv, bucketView
			bk, bv = bc.Next()
			vk, vv = vc.Next()
		}
		r, err := decodeRecord(bucket, k, v)
		if err != nil {
			return err
		}
		if more, err := fn(r); !more || err != nil {
			return err
		}
	}
	return nil
}

// compareKeys orders keys, nil (a cursor at its end) after every other.
func compareKeys(a, b []byte) int {
	switch {
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return bytes.Compare(a, b)
}

func putJSONTx(tx *bbolt.Tx, bucket, key []byte, v any) error {
	b, err := json.MarshalUnordered(v)
	if err != nil {
		return fmt.Errorf("encode %s %s: %w", bucket, key, err)
	}
	return tx.Bucket(bucket).Put(key, b)
}

// appendChangeTx puts a change into the outbox and the pending index.
func appendChangeTx(tx *bbolt.Tx, ch *dsync.Change) error {
	if err := tx.Bucket(bucketOutbox).Put(key64(ch.Counter), ch.AppendJSON(nil)); err != nil {
		return err
	}
	return tx.Bucket(bucketPending).Put(pendingKey(ch.Record, ch.Counter), nil)
}

// removeChangeTx takes an acknowledged change out of the outbox and index.
func removeChangeTx(tx *bbolt.Tx, ch *dsync.Change) error {
	if err := tx.Bucket(bucketOutbox).Delete(key64(ch.Counter)); err != nil {
		return err
	}
	return tx.Bucket(bucketPending).Delete(pendingKey(ch.Record, ch.Counter))
}

// pendingChangesTx returns a record's pending changes in counter order.
func pendingChangesTx(tx *bbolt.Tx, record string) ([]*dsync.Change, error) {
	var out []*dsync.Change
	prefix := pendingPrefix(record)
	c := tx.Bucket(bucketPending).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		ch, err := outboxChangeTx(tx, k[len(prefix):])
		if err != nil {
			return nil, err
		}
		out = append(out, ch)
	}
	return out, nil
}

func hasPendingTx(tx *bbolt.Tx, record string) bool {
	prefix := pendingPrefix(record)
	k, _ := tx.Bucket(bucketPending).Cursor().Seek(prefix)
	return k != nil && bytes.HasPrefix(k, prefix)
}

func outboxChangeTx(tx *bbolt.Tx, key []byte) (*dsync.Change, error) {
	v := tx.Bucket(bucketOutbox).Get(key)
	if v == nil {
		return nil, fmt.Errorf("sdk: pending index names missing outbox entry %x", key)
	}
	var ch dsync.Change
	if err := json.Unmarshal(v, &ch); err != nil {
		return nil, fmt.Errorf("decode outbox entry %x: %w", key, err)
	}
	return &ch, nil
}

// outboxBatchTx reads up to limit changes with counters above after, in
// counter order.
func outboxBatchTx(tx *bbolt.Tx, after uint64, limit int) ([]dsync.Change, error) {
	body := append(make([]byte, 0, 64<<10), `{"changes":[`...)
	c := tx.Bucket(bucketOutbox).Cursor()
	n := 0
	for k, v := c.Seek(key64(after + 1)); k != nil && n < limit; k, v = c.Next() {
		if n > 0 {
			body = append(body, ',')
		}
		body = append(body, v...)
		n++
	}
	body = append(body, "]}"...)
	// The changes are read back from a body of our own (the fast path of
	// the server's push decoder): the outbox's bytes last only as long as
	// the transaction.
	req, ok := dsync.ParsePushRequest(body)
	if !ok {
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, fmt.Errorf("decode outbox after counter %d: %w", after, err)
		}
	}
	return req.Changes, nil
}

// rebuildViewTx recomputes a record's view: its base with its pending
// changes applied in counter order. A record without pending changes has
// no view: the app sees its base.
func rebuildViewTx(tx *bbolt.Tx, id string) error {
	base, err := getRecordTx(tx, bucketBase, id)
	if err != nil {
		return err
	}
	return rebuildViewOnTx(tx, id, base)
}

// rebuildViewOnTx is rebuildViewTx with the base in hand: a pulled record
// just stored is not read back and decoded again (a tenth of a bootstrap).
func rebuildViewOnTx(tx *bbolt.Tx, id string, base *dsync.Record) error {
	pending, err := pendingChangesTx(tx, id)
	if err != nil {
		return err
	}
	if len(pending) == 0 {
		// Nothing on top: the app sees the base, kept once.
		return dropViewTx(tx, id, base)
	}
	view := base
	for _, ch := range pending {
		view = applyChange(view, ch)
	}
	return putRecordTx(tx, bucketView, view)
}

// dropViewTx deletes a record's view, leaving the app its base (nil: the
// record is gone, a create the server refused or the app discarded), and
// the summary with it.
func dropViewTx(tx *bbolt.Tx, id string, base *dsync.Record) error {
	view := tx.Bucket(bucketView)
	if view.Get([]byte(id)) == nil {
		return nil
	}
	if err := view.Delete([]byte(id)); err != nil {
		return err
	}
	if base == nil {
		return tx.Bucket(bucketSummary).Delete([]byte(id))
	}
	return putSummaryTx(tx, base)
}

// applyChange returns rec (nil: a new record) with ch applied, as the device
// sees its own edit. rec is not modified.
func applyChange(rec *dsync.Record, ch *dsync.Change) *dsync.Record {
	var next *dsync.Record
	if rec == nil {
		next = &dsync.Record{ID: ch.Record, Type: ch.Type, District: ch.District}
	} else {
		next = rec.Clone()
	}
	next.Apply(ch)
	next.Prune()
	return next
}

// foldTx writes into base the fields the server applied from ch, with the
// change's ID as their version: exactly what the server did, so the view does
// not flicker back before the next pull.
func foldTx(tx *bbolt.Tx, ch *dsync.Change, res *dsync.Result) error {
	part := *ch
	applied := res.AppliedFields(ch)
	part.Set = make(map[string]json.RawMessage, len(applied))
	for _, k := range applied {
		if v, ok := ch.Set[k]; ok {
			part.Set[k] = v
		}
	}
	if len(part.Set) == 0 {
		return nil
	}
	base, err := getRecordTx(tx, bucketBase, ch.Record)
	if err != nil {
		return err
	}
	next := applyChange(base, &part)
	next.Seq = max(next.Seq, res.Seq)
	return putRecordTx(tx, bucketBase, next)
}

// ackTx handles the server's answer to one pushed change. It reports whether
// the record's view is already right (settled), so it need not be rebuilt.
func ackTx(tx *bbolt.Tx, ch *dsync.Change, res *dsync.Result) (settled bool, err error) {
	if err := removeChangeTx(tx, ch); err != nil {
		return false, err
	}
	if rejected(res) {
		return false, putJSONTx(tx, bucketRejected, []byte(ch.ID), Rejection{Change: *ch, Result: *res})
	}
	for i := range res.Conflicts {
		c := &res.Conflicts[i]
		if err := putJSONTx(tx, bucketConflicts, []byte(c.ID), c); err != nil {
			return false, err
		}
	}
	if settleCreateTx(tx, ch, res) {
		return true, nil
	}
	return false, foldTx(tx, ch, res)
}

// settleCreateTx is the common case of an applied create with nothing else
// pending: the server now holds exactly what the view shows, so the view's
// bytes become the base as they are, and the view goes.
func settleCreateTx(tx *bbolt.Tx, ch *dsync.Change, res *dsync.Result) bool {
	id := []byte(ch.Record)
	if ch.Op != dsync.OpCreate || res.Status != dsync.StatusApplied ||
		tx.Bucket(bucketBase).Get(id) != nil || hasPendingTx(tx, ch.Record) {
		return false
	}
	view := tx.Bucket(bucketView).Get(id)
	return view != nil && tx.Bucket(bucketBase).Put(id, view) == nil && tx.Bucket(bucketView).Delete(id) == nil
}

// rejected reports whether a result refused the change. A duplicate carries
// the first answer's code, so a change rejected before stays rejected.
func rejected(res *dsync.Result) bool {
	return res.Status == dsync.StatusRejected || res.Code != ""
}

// putPulledTx stores one pulled record, compact its encoding as it arrived,
// into base and recomputes its view. A tombstone of a record the device
// never had is skipped; it reports whether the record was stored.
func putPulledTx(tx *bbolt.Tx, r *dsync.Record, compact []byte) (bool, error) {
	if r.Deleted() && tx.Bucket(bucketBase).Get([]byte(r.ID)) == nil && !hasPendingTx(tx, r.ID) {
		return false, nil
	}
	if err := putEncodedTx(tx, bucketBase, r, compact); err != nil {
		return false, err
	}
	return true, rebuildViewOnTx(tx, r.ID, r)
}

// listJSONTx decodes every value of a bucket into a new T.
func listJSONTx[T any](tx *bbolt.Tx, bucket []byte) ([]T, error) {
	var out []T
	err := tx.Bucket(bucket).ForEach(func(k, v []byte) error {
		var t T
		if err := json.Unmarshal(v, &t); err != nil {
			return fmt.Errorf("decode %s %s: %w", bucket, k, err)
		}
		out = append(out, t)
		return nil
	})
	return out, err
}
