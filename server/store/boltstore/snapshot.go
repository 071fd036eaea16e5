package boltstore

import (
	"io"

	bolt "go.etcd.io/bbolt"
)

// Snapshot writes a consistent copy of the database file to w from one read
// transaction (bbolt's Tx.WriteTo), while writers go on, and returns the
// feed's highest sequence the copy holds: every change up to it is inside.
func (s *Store) Snapshot(w io.Writer) (seq uint64, err error) {
	err = s.db.View(func(btx *bolt.Tx) error {
		seq = btx.Bucket(bucketChanges).Sequence()
		_, err := btx.WriteTo(w)
		return err
	})
	return seq, err
}
