package roll

import "errors"

// ErrFormat means the input is not a CSV or XLSX file this package can read,
// or its header names no known column.
var ErrFormat = errors.New("roll: unreadable file")

// ErrUnknownDistrict means an export asked for a district that was never
// imported.
var ErrUnknownDistrict = errors.New("roll: unknown district")

// ErrEncoding means a CSV file is neither UTF-8 nor GB18030 throughout.
var ErrEncoding = errors.New("roll: text is neither UTF-8 nor GB18030")

// ErrCursor means a list was asked to continue after a cursor it did not
// give.
var ErrCursor = errors.New("roll: bad cursor")
