// Package lunar converts between the Chinese lunar calendar (农历) and the
// solar calendar, for birthdays that people give as lunar dates.
//
// Conversion covers lunar years 1900-2100. Month data comes from
// github.com/6tail/lunar-go (astronomical new moons, the same tables as
// the printed almanac), condensed per year into first-day numbers.
package lunar

import (
	"sync"
	"time"

	"github.com/6tail/lunar-go/calendar"
)

const (
	lunarMinYear = 1900
	lunarMaxYear = 2100
	unixJD       = 2440588 // Julian day number of 1970-01-01
)

// lunarYearInfo holds, for months 1..12 of one lunar year (regular, not
// leap), the first day as days since 1970-01-01 and the day count; and the
// same for the leap month (leap == 0 if none).
type lunarYearInfo struct {
	first     [13]int32
	days      [13]int8
	leap      int8
	leapFirst int32
	leapDays  int8
}

var (
	lunarMu    sync.Mutex
	lunarYears = map[int]*lunarYearInfo{}
)

func lunarYear(y int) *lunarYearInfo {
	lunarMu.Lock()
	defer lunarMu.Unlock()
	if info, ok := lunarYears[y]; ok {
		return info
	}
	info := &lunarYearInfo{}
	ly := calendar.NewLunarYear(y)
	for e := ly.GetMonths().Front(); e != nil; e = e.Next() {
		m := e.Value.(*calendar.LunarMonth)
		if m.GetYear() != y {
			continue
		}
		first := int32(int(m.GetFirstJulianDay()+0.5) - unixJD)
		if m.IsLeap() {
			info.leap, info.leapFirst, info.leapDays = int8(-m.GetMonth()), first, int8(m.GetDayCount())
			continue
		}
		info.first[m.GetMonth()], info.days[m.GetMonth()] = first, int8(m.GetDayCount())
	}
	lunarYears[y] = info
	return info
}

// ToSolar converts a lunar date (regular month) to the solar date.
// ok is false outside 1900-2100 or for a day the month does not have.
func ToSolar(y, m, d int) (sy, sm, sd int, ok bool) {
	day, ok := lunarToDay(y, m, d)
	if !ok {
		return 0, 0, 0, false
	}
	t := time.Unix(int64(day)*86400, 0).UTC()
	return t.Year(), int(t.Month()), t.Day(), true
}

// lunarToDay returns days since 1970-01-01 of a lunar date.
func lunarToDay(y, m, d int) (int32, bool) {
	if y < lunarMinYear || y > lunarMaxYear || m < 1 || m > 12 || d < 1 {
		return 0, false
	}
	info := lunarYear(y)
	if d > int(info.days[m]) {
		return 0, false
	}
	return info.first[m] + int32(d-1), true
}

// FromSolar converts a solar date to the lunar date; leap is true for a
// day in a leap month (whose month number is then that of the month it
// repeats).
func FromSolar(y, m, d int) (ly, lm, ld int, leap, ok bool) {
	day := int32(time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
	for _, cy := range [2]int{y, y - 1} {
		if cy < lunarMinYear || cy > lunarMaxYear {
			continue
		}
		info := lunarYear(cy)
		for mm := 1; mm <= 12; mm++ {
			if day >= info.first[mm] && day < info.first[mm]+int32(info.days[mm]) {
				return cy, mm, int(day-info.first[mm]) + 1, false, true
			}
		}
		if info.leap != 0 && day >= info.leapFirst && day < info.leapFirst+int32(info.leapDays) {
			return cy, int(info.leap), int(day-info.leapFirst) + 1, true, true
		}
	}
	return 0, 0, 0, false, false
}
