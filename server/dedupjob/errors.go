package dedupjob

import "errors"

// ErrRunning means a run is under way; one runs at a time.
var ErrRunning = errors.New("dedupjob: a duplicate check is already running")

// ErrBadDecision means a decision is neither confirmed nor rejected.
var ErrBadDecision = errors.New("dedupjob: decision must be confirmed or rejected")

// ErrNotMember means the record to keep is not a member of the case.
var ErrNotMember = errors.New("dedupjob: the record to keep is not in the case")

// ErrDecided means the case was decided already, differently.
var ErrDecided = errors.New("dedupjob: case already decided")

// ErrRemoveRefused means the store refused a removal change (e.g. the
// record no longer validates); the decision itself is recorded.
var ErrRemoveRefused = errors.New("dedupjob: removal of a duplicate registration refused")
