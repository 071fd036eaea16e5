package sdk

import (
	"bytes"
	"net/http"
	"strconv"
	"sync"

	json "github.com/dengji/dengji/internal/jsonx"
	"go.etcd.io/bbolt"

	dsync "github.com/dengji/dengji/sync"
)

// A server restored from a backup has gone back in time: it lacks the
// changes it took after the backup, and devices hold cursors and
// acknowledgements it no longer has. Every answer of the server carries,
// in headers apart from any body format:
//
//   - Dengji-Generation, an ID that a restore changes;
//   - Dengji-Backup-Seq, the feed sequence every backup the server keeps
//     holds;
//   - on push and pull, Dengji-Seq, the feed's sequence once the request was
//     done (after the push committed).
//
// A change the server acknowledged (applied, duplicate or conflict) leaves
// the outbox for the pushed bucket, with the Dengji-Seq and generation of
// its answer, and stays there until the server reports a backup holding it
// (its Dengji-Seq below the watermark: a change answered at or below S was
// sequenced at or below S, so a snapshot that saw a higher sequence holds it).
// When a Sync finds the generation changed, the device puts every change the
// older server acknowledged back into the outbox, in its order, with its ID
// (one the restored server has is answered duplicate, so nothing is applied
// twice), and reads its districts again from cursor 0; then it syncs once
// more.
const (
	headerGeneration = "Dengji-Generation"
	headerBackupSeq  = "Dengji-Backup-Seq"
	headerSeq        = "Dengji-Seq"
)

// codeGenerationChanged is the server's refusal of a push that names the
// generation of a server since restored: nothing of it was stored.
const codeGenerationChanged = "generation_changed"

// generationHeader names the server generation this device last saw, on
// a push: a restored server refuses the push rather than take the device's
// newer changes before the ones it lost (the hook in send).
func (d *Device) generationHeader() http.Header {
	var gen string
	d.db.View(func(tx *bbolt.Tx) error { gen = getStringTx(tx, keyGeneration); return nil })
	if gen == "" {
		return nil
	}
	return http.Header{headerGeneration: {gen}}
}

// serverMark is what the server's last answer said in those headers.
type serverMark struct {
	Generation string
	Seq        uint64 // 0 if the answer did not say
	BackupSeq  uint64
}

// serverState is the device's copy of the last serverMark, shared by the
// requests of a Sync.
type serverState struct {
	mu   sync.Mutex
	mark serverMark
}

// observe keeps what an answer's headers say (the hook in once).
func (s *serverState) observe(h http.Header) {
	gen := h.Get(headerGeneration)
	if gen == "" {
		return // an older server, or no Dengji server
	}
	m := serverMark{Generation: gen}
	m.Seq, _ = strconv.ParseUint(h.Get(headerSeq), 10, 64)
	m.BackupSeq, _ = strconv.ParseUint(h.Get(headerBackupSeq), 10, 64)
	s.mu.Lock()
	s.mark = m
	s.mu.Unlock()
}

func (s *serverState) get() serverMark {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mark
}

// pushedEntry is a change the server acknowledged, kept until a backup
// holds it.
type pushedEntry struct {
	Seq        uint64          `json:"seq"`
	Generation string          `json:"generation"`
	Change     json.RawMessage `json:"change"`
}

// keepPushedTx keeps an acknowledged change (the hook in acknowledge). A
// refused change is not kept: the server stored nothing of it to lose.
func keepPushedTx(tx *bbolt.Tx, ch *dsync.Change, res *dsync.Result, m serverMark) error {
	if m.Generation == "" || rejected(res) {
		return nil
	}
	return putJSONTx(tx, bucketPushed, key64(ch.Counter), pushedEntry{Seq: m.Seq, Generation: m.Generation,
		Change: ch.AppendJSON(nil)})
}

// reconcile compares the server's generation with the one this device saw
// last (the hook at the end of Sync). A new one after another means a
// restore: the acknowledged changes the older server took go back into the
// outbox, the pull cursor back to 0, and restored is true. Either way, the
// changes a backup of the current server holds are forgotten.
func (d *Device) reconcile() (restored bool, err error) {
	m := d.server.get()
	if m.Generation == "" {
		return false, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	err = d.db.Update(func(tx *bbolt.Tx) error {
		seen := getStringTx(tx, keyGeneration)
		if seen != "" && seen != m.Generation {
			restored = true
			if err := requeueTx(tx, m.Generation); err != nil {
				return err
			}
			if err := putU64Tx(tx, keyCursor, 0); err != nil {
				return err
			}
		}
		if err := putStringTx(tx, keyGeneration, m.Generation); err != nil {
			return err
		}
		return forgetBackedUpTx(tx, m)
	})
	return restored, err
}

// requeueTx puts back into the outbox every kept change that a server of
// another generation than gen acknowledged, and rebuilds the views of
// their records.
func requeueTx(tx *bbolt.Tx, gen string) error {
	touched := map[string]bool{}
	err := prunePushedTx(tx, func(k []byte, e *pushedEntry) (bool, error) {
		if e.Generation == gen || tx.Bucket(bucketOutbox).Get(k) != nil {
			return false, nil // this server's, or renumbered since: the outbox's is the newer
		}
		var ch dsync.Change
		if err := json.Unmarshal(e.Change, &ch); err != nil {
			return false, err
		}
		touched[ch.Record] = true
		return true, appendChangeTx(tx, &ch)
	})
	if err != nil {
		return err
	}
	for id := range touched {
		if err := rebuildViewTx(tx, id); err != nil {
			return err
		}
	}
	return nil
}

// forgetBackedUpTx drops the kept changes that every backup of the current
// server holds.
func forgetBackedUpTx(tx *bbolt.Tx, m serverMark) error {
	return prunePushedTx(tx, func(_ []byte, e *pushedEntry) (bool, error) {
		return e.Generation == m.Generation && e.Seq < m.BackupSeq, nil
	})
}

// prunePushedTx calls done for every kept change, in counter order, and
// deletes those it says are done.
func prunePushedTx(tx *bbolt.Tx, done func(k []byte, e *pushedEntry) (bool, error)) error {
	b := tx.Bucket(bucketPushed)
	var doomed [][]byte
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var e pushedEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return err
		}
		ok, err := done(k, &e)
		if err != nil {
			return err
		}
		if ok {
			doomed = append(doomed, bytes.Clone(k))
		}
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// KeptForRestore is how many acknowledged changes this device keeps until
// a backup of the server holds them.
func (d *Device) KeptForRestore() (int, error) {
	n := 0
	err := d.db.View(func(tx *bbolt.Tx) error {
		n = tx.Bucket(bucketPushed).Stats().KeyN
		return nil
	})
	return n, err
}
