package boltstore

import (
	"encoding/binary"
	"fmt"
	"math"

	json "github.com/dengji/dengji/internal/jsonx"

	"github.com/dengji/dengji/server/audit"
	"github.com/dengji/dengji/server/store"
)

// --- the audit log ---

func (t *tx) AppendAudit(e *audit.Entry) error {
	b := t.b(bucketAudit)
	want := uint64(1)
	if k, _ := b.Cursor().Last(); k != nil {
		want = binary.BigEndian.Uint64(k) + 1
	}
	if e.Seq != want {
		return fmt.Errorf("%w: %d, the next is %d", store.ErrAuditSeq, e.Seq, want)
	}
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return b.Put(u64(e.Seq), data)
}

func (t *tx) AuditEntries(after uint64, limit int) ([]audit.Entry, error) {
	var out []audit.Entry
	if after == math.MaxUint64 {
		return out, nil
	}
	c := t.b(bucketAudit).Cursor()
	for k, v := c.Seek(u64(after + 1)); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
		e, err := decodeAudit(k, v)
		if err != nil {
			return out, err
		}
		out = append(out, *e)
	}
	return out, nil
}

func (t *tx) LastAudit() (*audit.Entry, error) {
	k, v := t.b(bucketAudit).Cursor().Last()
	if k == nil {
		return nil, nil
	}
	return decodeAudit(k, v)
}

func decodeAudit(k, v []byte) (*audit.Entry, error) {
	if len(k) != 8 {
		return nil, &audit.UnreadableError{Err: fmt.Errorf("boltstore: audit key of %d bytes", len(k))}
	}
	var e audit.Entry
	if err := json.Unmarshal(v, &e); err != nil {
		return nil, &audit.UnreadableError{Seq: binary.BigEndian.Uint64(k), Err: err}
	}
	return &e, nil
}
