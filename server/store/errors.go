package store

import "errors"

// ErrNotFound means the key does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrBusy means the data directory is locked by another process.
var ErrBusy = errors.New("store: data directory is in use by another process")

// ErrAuditSeq means an audit entry's sequence number is not the next one.
var ErrAuditSeq = errors.New("store: audit entry out of sequence")
