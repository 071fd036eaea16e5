package boltstore

// Every bucket, declared once. Keys that sort use fixed-width big-endian
// integers (u64), so bbolt's order is sequence order.
var (
	bucketMeta        = []byte("meta")         // "schema" → version
	bucketRecords     = []byte("records")      // record ID → dsync.Record JSON
	bucketFeed        = []byte("feed")         // district 0x00 u64(seq) → record ID
	bucketChanges     = []byte("changes")      // u64(seq) → dsync.Change JSON (the sequence lives here)
	bucketResults     = []byte("results")      // change ID → dsync.Result JSON
	bucketCounters    = []byte("counters")     // device ID → u64 highest counter
	bucketConflicts   = []byte("conflicts")    // conflict ID → dsync.Conflict JSON
	bucketConflictIdx = []byte("conflict_idx") // district 0x00 conflict ID → nil
	bucketUsers       = []byte("users")        // user name → store.User JSON
	bucketDevices     = []byte("devices")      // device ID → store.Device JSON
	bucketRefresh     = []byte("refresh")      // token hash → store.RefreshToken JSON (older tokens, no family)
	bucketSessions    = []byte("sessions")     // family ID → store.RefreshToken JSON (a refresh-token family)
	bucketSettings    = []byte("settings")     // key → value
	bucketRefs        = []byte("refs")         // external reference → record ID
	bucketDistricts   = []byte("districts")    // district code → model.District JSON
	bucketDupCases    = []byte("dup_cases")    // case ID → store.DupCase JSON
	bucketDupCaseIdx  = []byte("dup_case_idx") // district 0x00 case ID → nil
	bucketAudit       = []byte("audit")        // u64(seq) → audit.Entry JSON (the hash-chained audit log)
	bucketNotices     = []byte("notices")      // notice ID → dsync.Notice JSON; the bucket's sequence numbers them
	bucketNoticeSeq   = []byte("notice_seq")   // u64(seq) → notice ID
	bucketNoticeIdx   = []byte("notice_idx")   // district 0x00 u64(seq) → notice ID
	bucketRecordLog   = []byte("record_log")   // record ID 0x00 u64(seq) → nil: a record's changes (its history)
)

// appendMostly are the buckets whose keys mostly grow (sequence numbers,
// time-ordered UUIDv7s): their pages are filled to 90% instead of bbolt's 50%,
// halving the pages a push writes.
var appendMostly = map[string]bool{
	string(bucketRecords): true, string(bucketFeed): true, string(bucketChanges): true, string(bucketResults): true,
	string(bucketAudit): true, string(bucketNoticeSeq): true,
}

var allBuckets = [][]byte{
	bucketMeta, bucketRecords, bucketFeed, bucketChanges, bucketResults, bucketCounters,
	bucketConflicts, bucketConflictIdx, bucketUsers, bucketDevices, bucketRefresh, bucketSettings,
	bucketRefs, bucketDistricts, bucketDupCases, bucketDupCaseIdx, bucketSessions,
	bucketAudit, bucketNotices, bucketNoticeSeq, bucketNoticeIdx, bucketRecordLog,
}

// schemaVersion is the layout this code reads and writes. Open refuses a file
// written by a newer layout and migrates an older one: a bucket added since,
// like audit, is created at open; version 2 indexes every change by its
// record (record_log), filled from the change log at the first open.
const schemaVersion = 2
