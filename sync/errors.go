package sync

import "errors"

// ErrInvalidChange means a change is malformed; it is rejected, never applied.
var ErrInvalidChange = errors.New("sync: invalid change")
