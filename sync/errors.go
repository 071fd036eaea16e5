package sync

import "errors"

// ErrInvalidChange means a change is malformed; it is rejected, never applied.
var ErrInvalidChange = errors.New("sync: invalid change")

// ErrPushTooLarge means a push body holds more changes, or more structure,
// than any device sends; it is refused before it is decoded.
var ErrPushTooLarge = errors.New("sync: push body too large")

// ErrBadColumns means a push body in the columnar encoding (FormatColumns)
// has columns that do not line up: a change without its ID or counter, a
// field's values naming changes the batch does not have.
var ErrBadColumns = errors.New("sync: push columns do not line up")

// errCompactWriter means a compact record names a writer it does not list.
var errCompactWriter = errors.New("sync: compact record names a writer it does not have")
