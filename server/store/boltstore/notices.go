package boltstore

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"slices"

	json "github.com/dengji/dengji/internal/jsonx"

	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// --- notices to registrars ---

func noticeIdxKey(district string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(district), 0), seq)
}

func (t *tx) Notice(id string) (*dsync.Notice, error) {
	return getAs[dsync.Notice](t, bucketNotices, id)
}

// PutNotice numbers n anew and moves its index entries from its old number.
func (t *tx) PutNotice(n *dsync.Notice) error {
	old, err := t.Notice(n.ID)
	switch {
	case err == nil:
		if err := t.b(bucketNoticeSeq).Delete(u64(old.Seq)); err != nil {
			return err
		}
		if err := t.b(bucketNoticeIdx).Delete(noticeIdxKey(old.District, old.Seq)); err != nil {
			return err
		}
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	seq, err := t.b(bucketNotices).NextSequence()
	if err != nil {
		return err
	}
	n.Seq = seq
	if err := t.b(bucketNoticeSeq).Put(u64(seq), []byte(n.ID)); err != nil {
		return err
	}
	if err := t.b(bucketNoticeIdx).Put(noticeIdxKey(n.District, seq), []byte(n.ID)); err != nil {
		return err
	}
	return t.putJSON(bucketNotices, n.ID, n)
}

func (t *tx) Notices(districts []string, after uint64, limit int) ([]dsync.Notice, bool, error) {
	if limit <= 0 {
		limit = 1000
	}
	var ids []seqID
	more := false
	if districts == nil {
		c := t.b(bucketNoticeSeq).Cursor()
		for k, v := c.Seek(u64(after + 1)); k != nil; k, v = c.Next() {
			if len(ids) == limit {
				more = true
				break
			}
			ids = append(ids, seqID{binary.BigEndian.Uint64(k), string(v)})
		}
	} else {
		for _, d := range slices.Compact(slices.Sorted(slices.Values(districts))) {
			prefix := append([]byte(d), 0)
			c := t.b(bucketNoticeIdx).Cursor()
			n := 0
			for k, v := c.Seek(noticeIdxKey(d, after+1)); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
				if n == limit {
					more = true
					break
				}
				ids = append(ids, seqID{binary.BigEndian.Uint64(k[len(prefix):]), string(v)})
				n++
			}
		}
		slices.SortFunc(ids, func(a, b seqID) int { return cmp.Compare(a.seq, b.seq) })
		if len(ids) > limit {
			ids, more = ids[:limit], true
		}
	}
	out := make([]dsync.Notice, 0, len(ids))
	for _, e := range ids {
		var n dsync.Notice
		if err := json.Unmarshal(t.b(bucketNotices).Get([]byte(e.id)), &n); err != nil {
			return nil, false, err
		}
		out = append(out, n)
	}
	return out, more, nil
}

type seqID struct {
	seq uint64
	id  string
}
