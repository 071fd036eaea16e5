package sync

import (
	"fmt"
	"strconv"
	"time"
)

// HLC is a hybrid logical clock timestamp: milliseconds since the Unix epoch
// in the high 48 bits and a logical counter in the low 16. HLCs order the
// changes one device makes and let a coordinator see when edits happened; they
// never decide a conflict.
type HLC uint64

const logicalBits = 16

// MaxMillis is the latest wall-clock time an HLC holds (the year 10889);
// MaxHLC the greatest timestamp. HLC arithmetic stops there, it never wraps.
const (
	MaxMillis = 1<<(64-logicalBits) - 1
	MaxHLC    = HLC(1<<64 - 1)
)

// MakeHLC builds a timestamp from wall-clock milliseconds and a logical
// count. Milliseconds outside 0..MaxMillis are clamped, not wrapped.
func MakeHLC(ms int64, logical uint16) HLC {
	ms = min(max(ms, 0), MaxMillis)
	return HLC(uint64(ms)<<logicalBits | uint64(logical))
}

// Millis is the wall-clock part in milliseconds since the epoch.
func (h HLC) Millis() int64 { return int64(h >> logicalBits) }

// Logical is the logical counter part.
func (h HLC) Logical() uint16 { return uint16(h) }

// Time is the wall-clock part as a time.Time.
func (h HLC) Time() time.Time { return time.UnixMilli(h.Millis()).UTC() }

// String formats the timestamp as RFC 3339 time plus the logical count.
func (h HLC) String() string {
	return fmt.Sprintf("%s+%d", h.Time().Format("2006-01-02T15:04:05.000Z"), h.Logical())
}

// MarshalJSON writes the timestamp as a decimal string: a JSON number would
// lose precision in JavaScript (the console).
func (h HLC) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, strconv.FormatUint(uint64(h), 10)), nil
}

// UnmarshalJSON reads the decimal-string form (a bare number is accepted too).
func (h *HLC) UnmarshalJSON(b []byte) error {
	s := string(b)
	if uq, err := strconv.Unquote(s); err == nil {
		s = uq
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("sync: bad hlc %q", s)
	}
	*h = HLC(v)
	return nil
}

// Clock issues HLC timestamps. It is not safe for concurrent use; the device
// store serialises access to it.
type Clock struct {
	Now  func() time.Time // wall clock; time.Now when nil
	last HLC
}

// NewClock returns a clock that never goes below last (the last timestamp the
// device persisted), so a restart or a clock set back cannot reorder changes.
func NewClock(last HLC) *Clock { return &Clock{last: last} }

// Last is the most recent timestamp issued or observed.
func (c *Clock) Last() HLC { return c.last }

// Tick returns a timestamp greater than every one issued or observed before.
func (c *Clock) Tick() HLC {
	now := c.wall()
	if now > c.last.Millis() {
		c.last = MakeHLC(now, 0)
	} else {
		c.last = c.next(c.last)
	}
	return c.last
}

// Observe folds in a timestamp seen from elsewhere (a pulled record), so the
// next Tick orders after it.
func (c *Clock) Observe(h HLC) {
	if h > c.last {
		c.last = h
	}
}

// Reset sets the last timestamp back to h, e.g. when the wall clock was
// found ahead of the server's and the changes it stamped are stamped again.
func (c *Clock) Reset(h HLC) { c.last = h }

func (c *Clock) next(h HLC) HLC { return h.Next() }

// Next is the timestamp just after h; MaxHLC stays MaxHLC.
func (h HLC) Next() HLC {
	switch {
	case h == MaxHLC:
		return h
	case h.Logical() == 1<<logicalBits-1:
		return MakeHLC(h.Millis()+1, 0)
	}
	return h + 1
}

func (c *Clock) wall() int64 {
	if c.Now != nil {
		return c.Now().UnixMilli()
	}
	return time.Now().UnixMilli()
}

// MaxClockAhead is how far ahead of the server's clock a pushed change's HLC
// may be. Devices go offline for days, so there is no bound into the past.
const MaxClockAhead = 24 * time.Hour

// CodeClockSkew is the API error code of a push refused because a change's
// HLC is more than MaxClockAhead ahead of the server's clock. Nothing of the
// batch is stored; the device corrects its clock by the server's time in
// the details (ClockSkew), stamps its unsent changes again and sends them
// again.
const CodeClockSkew = "clock_skew"

// ClockSkew is the Details of a clock_skew error.
type ClockSkew struct {
	ServerTime int64  `json:"server_time_ms"` // the server's clock, in milliseconds since the epoch
	MaxAhead   int64  `json:"max_ahead_ms"`   // how far ahead of it an HLC may be
	Change     string `json:"change"`         // the first change found ahead
	HLC        HLC    `json:"hlc"`            // its timestamp
}

// Ahead reports whether h lies more than max ahead of now.
func (h HLC) Ahead(now time.Time, max time.Duration) bool {
	return h.Millis() > now.Add(max).UnixMilli()
}
