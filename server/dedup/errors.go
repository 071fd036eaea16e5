package dedup

import "errors"

var (
	// ErrDuplicateRecordID is returned when two input records share a Record.ID.
	ErrDuplicateRecordID = errors.New("dedup: duplicate record id")

	// ErrEmptyRecordID is returned when an input record has no Record.ID.
	ErrEmptyRecordID = errors.New("dedup: empty record id")

	// ErrTruthLength is returned by Evaluate when truth and records differ in length.
	ErrTruthLength = errors.New("dedup: truth and records differ in length")

	// ErrNoFEBRL is returned when a FEBRL data file is absent.
	ErrNoFEBRL = errors.New("dedup: febrl data not found")

	// ErrBadFEBRL is returned when a FEBRL file cannot be parsed.
	ErrBadFEBRL = errors.New("dedup: malformed febrl file")
)

// ErrNoWeights is returned by Rebuild without the weights of a full run.
var ErrNoWeights = errors.New("dedup: no weights of a full run")
