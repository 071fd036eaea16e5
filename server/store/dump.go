package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
)

// Dumper is a backend that dengji migrate copies from and to: every
// stored entry of every kind, as stored, key by key. The derived indexes
// (the feed, conflicts and cases by district) are not entries: Load
// rebuilds them from the values.
type Dumper interface {
	// Dump calls fn for every entry, on one snapshot, kind by kind in
	// DumpKinds order and by key (compared as bytes) within a kind.
	Dump(ctx context.Context, fn func(DumpEntry) error) error
	// Load stores entries as Dump gave them, in one transaction.
	Load(ctx context.Context, entries []DumpEntry) error
}

// DumpEntry is one stored entry. Keys of sequence-numbered kinds
// (changes, audit) are SeqKey strings; a counter's value, and the high
// sequence numbers (kind meta: "seq" of the feed, "notice_seq" of the
// notices), are decimal.
type DumpEntry struct {
	Kind  string
	Key   string
	Value []byte
}

// DumpKinds are the kinds of entries, in dump order.
var DumpKinds = []string{"meta", "records", "changes", "results", "counters", "conflicts", "users", "devices",
	"refresh", "sessions", "settings", "refs", "districts", "dup_cases", "audit", "notices"}

// SeqKey is the dump key of a sequence number: twenty digits, so byte
// order is number order.
func SeqKey(n uint64) string { return fmt.Sprintf("%020d", n) }

// ParseSeqKey reads a SeqKey (or any decimal).
func ParseSeqKey(k string) (uint64, error) { return strconv.ParseUint(k, 10, 64) }

// KindDigest is a kind's entry count and the SHA-256 of its entries in
// dump order, each key and value with its length.
type KindDigest struct {
	Entries int    `json:"entries"`
	SHA256  string `json:"sha256"`
}

// Digest summarises every kind of a store, to compare a copy with its
// source.
func Digest(ctx context.Context, d Dumper) (map[string]KindDigest, error) {
	out := map[string]KindDigest{}
	hs := map[string]hash.Hash{}
	for _, k := range DumpKinds {
		hs[k] = sha256.New()
	}
	err := d.Dump(ctx, func(e DumpEntry) error {
		h, ok := hs[e.Kind]
		if !ok {
			return fmt.Errorf("store: dump of unknown kind %q", e.Kind)
		}
		for _, b := range [][]byte{[]byte(e.Key), e.Value} {
			h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(b))))
			h.Write(b)
		}
		kd := out[e.Kind]
		kd.Entries++
		out[e.Kind] = kd
		return nil
	})
	for _, k := range DumpKinds {
		kd := out[k]
		kd.SHA256 = hex.EncodeToString(hs[k].Sum(nil))
		out[k] = kd
	}
	return out, err
}

// ErrNotEmpty means a copy's destination already holds data.
var ErrNotEmpty = errors.New("store: the destination is not empty")

// Copy copies every entry of from into to, which must be empty, in
// transactions of batch entries, and then checks that both digests agree.
func Copy(ctx context.Context, from, to Dumper, batch int) (map[string]KindDigest, error) {
	errFound := errors.New("found")
	err := to.Dump(ctx, func(e DumpEntry) error {
		if e.Kind == "meta" && string(e.Value) == "0" {
			return nil
		}
		return errFound
	})
	switch {
	case errors.Is(err, errFound):
		return nil, ErrNotEmpty
	case err != nil:
		return nil, err
	}
	var buf []DumpEntry
	flush := func() error {
		err := to.Load(ctx, buf)
		buf = buf[:0]
		return err
	}
	err = from.Dump(ctx, func(e DumpEntry) error {
		buf = append(buf, DumpEntry{Kind: e.Kind, Key: e.Key, Value: append([]byte(nil), e.Value...)})
		if len(buf) >= batch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return nil, err
	}
	src, err := Digest(ctx, from)
	if err != nil {
		return nil, err
	}
	dst, err := Digest(ctx, to)
	if err != nil {
		return nil, err
	}
	for _, k := range DumpKinds {
		if src[k] != dst[k] {
			return src, fmt.Errorf("store: copy differs in %s: %d entries %s, copied %d %s",
				k, src[k].Entries, src[k].SHA256, dst[k].Entries, dst[k].SHA256)
		}
	}
	return src, nil
}
