package sdk

import (
	"bytes"
	"encoding/binary"
	"fmt"

	json "github.com/dengji/dengji/internal/jsonx"
	dsync "github.com/dengji/dengji/sync"
	"go.etcd.io/bbolt"
)

// schemaVersion is the layout of the device file this code writes. Bump it and
// add a step to migrations when a bucket or an encoding changes.
const schemaVersion = 3

// Buckets of the device file. Every bucket is declared here and nowhere else.
var (
	// bucketMeta holds the device's identity, counters, cursor and tokens
	// (the key* names below).
	bucketMeta = []byte("meta")
	// bucketBase maps record ID to the last server state (dsync.Record in
	// the compact encoding, dsync.FormatCompact).
	bucketBase = []byte("base")
	// bucketView maps the ID of a record with pending changes to what the
	// app sees: base plus those changes, in counter order (compact). A
	// record without pending changes has no view: the app sees its base, so
	// a record is kept once.
	bucketView = []byte("view")
	// bucketSummary maps record ID to the summary of the record as the app
	// sees it (view, else base), for lists and Search (summary.go); written
	// with the record.
	bucketSummary = []byte("summary")
	// bucketOutbox maps counter (key64) to a pending dsync.Change (JSON).
	bucketOutbox = []byte("outbox")
	// bucketPending indexes the outbox by record: pendingKey(record, counter)
	// to nothing.
	bucketPending = []byte("pending")
	// bucketConflicts maps conflict ID to a dsync.Conflict (JSON) the server
	// reported.
	bucketConflicts = []byte("conflicts")
	// bucketRejected maps change ID to a Rejection (JSON).
	bucketRejected = []byte("rejected")
	// bucketNotices maps notice ID to a Notice (JSON): the server's notices
	// on this device's districts' registrations (notices.go).
	bucketNotices = []byte("notices")
	// bucketAnswers maps notice ID to the registrar's answer
	// (dsync.NoticeAnswer JSON) not yet accepted by the server.
	bucketAnswers = []byte("notice_answers")
	// bucketPushed maps counter (key64) to an acknowledged change kept until
	// a backup of the server holds it (pushedEntry JSON, generation.go).
	bucketPushed = []byte("pushed")
)

var allBuckets = [][]byte{
	bucketMeta, bucketBase, bucketView, bucketSummary, bucketOutbox, bucketPending, bucketConflicts, bucketRejected,
	bucketNotices, bucketAnswers, bucketPushed,
}

// Keys of bucketMeta.
var (
	keySchema          = []byte("schema_version")    // uint64
	keyDevice          = []byte("device_id")         // string, a UUID made on first open
	keyCounter         = []byte("counter")           // uint64, last change counter used; only grows
	keyHLC             = []byte("hlc")               // uint64, last HLC issued or observed
	keyCursor          = []byte("cursor")            // uint64, pull cursor
	keyAccess          = []byte("access_token")      // string
	keyRefresh         = []byte("refresh_token")     // string
	keyServerURL       = []byte("server_url")        // string
	keyRotate          = []byte("rotate_tokens")     // string, set while moved tokens await their exchange
	keyNotices         = []byte("notice_cursor")     // uint64, notices cursor
	keyRules           = []byte("rules")             // dsync.Rules JSON, as the server last sent them
	keyRulesETag       = []byte("rules_etag")        // string, the ETag of keyRules
	keyGeneration      = []byte("server_generation") // string, the server's generation last seen (generation.go)
	keyConflictsCursor = []byte("conflicts_cursor")  // uint64, the pull cursor when the device last asked about its conflicts
	keyConflictsSwept  = []byte("conflicts_swept")   // uint64, unix ms by this device's clock it last asked about all of them
	keyAccessUntil     = []byte("access_until")      // uint64, unix ms by this device's clock the access token expires; 0: not known
	keyPullAll         = []byte("pull_all")          // present while the next pull pass must bring this device's own changes back too (see held)
)

// migrations[v] upgrades a file from schema version v to v+1.
var migrations = map[uint64]func(*bbolt.Tx) error{
	1: compactRecordsTx,
	2: buildSummariesTx,
}

// compactRecordsTx (1 → 2) writes every record in the compact encoding and
// drops the views of records without pending changes, which repeated the
// base.
func compactRecordsTx(tx *bbolt.Tx) error {
	for _, bucket := range [][]byte{bucketBase, bucketView} {
		b := tx.Bucket(bucket)
		var recs []*dsync.Record
		err := b.ForEach(func(k, v []byte) error {
			var r dsync.Record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode %s record %s: %w", bucket, k, err)
			}
			recs = append(recs, &r)
			return nil
		})
		if err != nil {
			return err
		}
		for _, r := range recs {
			if bytes.Equal(bucket, bucketView) && !hasPendingTx(tx, r.ID) {
				err = b.Delete([]byte(r.ID))
			} else {
				err = putRecordTx(tx, bucket, r)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// initSchemaTx creates missing buckets and brings the file to schemaVersion.
func initSchemaTx(tx *bbolt.Tx) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	v := getU64Tx(tx, keySchema)
	if v == 0 { // a new file
		return putU64Tx(tx, keySchema, schemaVersion)
	}
	if v > schemaVersion {
		return fmt.Errorf("%w: file %d, sdk %d", ErrSchemaTooNew, v, schemaVersion)
	}
	for ; v < schemaVersion; v++ {
		m, ok := migrations[v]
		if !ok {
			return fmt.Errorf("sdk: no migration from schema %d", v)
		}
		if err := m(tx); err != nil {
			return fmt.Errorf("migrate schema %d: %w", v, err)
		}
	}
	return putU64Tx(tx, keySchema, schemaVersion)
}

// key64 encodes n as 8 bytes big-endian, so keys sort by number.
func key64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// pendingPrefix is the prefix of a record's keys in bucketPending.
func pendingPrefix(record string) []byte {
	return append([]byte(record), 0)
}

// pendingKey is the bucketPending key of a record's change.
func pendingKey(record string, counter uint64) []byte {
	return binary.BigEndian.AppendUint64(pendingPrefix(record), counter)
}

func getU64Tx(tx *bbolt.Tx, key []byte) uint64 {
	v := tx.Bucket(bucketMeta).Get(key)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func putU64Tx(tx *bbolt.Tx, key []byte, n uint64) error {
	return tx.Bucket(bucketMeta).Put(key, key64(n))
}

func getStringTx(tx *bbolt.Tx, key []byte) string {
	return string(tx.Bucket(bucketMeta).Get(key))
}

func putStringTx(tx *bbolt.Tx, key []byte, s string) error {
	return tx.Bucket(bucketMeta).Put(key, []byte(s))
}
