package model

import "time"

// Election is the election round a server runs: its name and dates, kept on
// the server and sent to devices, which check ages against it offline.
// Dates are written YYYY-MM-DD.
type Election struct {
	Name string `json:"name"`
	// Day is election day (选举日): a voter must be 18 on it.
	Day string `json:"day"`
	// RegistrationDeadline is the last day of registration (登记截止日).
	RegistrationDeadline string `json:"registration_deadline,omitempty"`
	// ListDeadline is the day the voter list must be published by
	// (选民名单公布截止日).
	ListDeadline string `json:"list_deadline,omitempty"`
}

// Issue codes of an election's settings.
const (
	CodeElectionOrder = "election_order" // registration deadline ≤ list deadline ≤ election day
	maxElectionName   = 200
)

// Check reports what is wrong with e, each issue naming its field: a name
// and a day are required, every date must be a real YYYY-MM-DD date, and
// the registration deadline comes no later than the list's publication,
// which comes no later than election day.
func (e Election) Check() []Issue {
	var rep Report
	switch {
	case e.Name == "":
		rep.errorf("name", CodeRequired)
	case len([]rune(e.Name)) > maxElectionName:
		rep.errorf("name", CodeTooLong)
	}
	dates := []struct {
		field, v string
		req      bool
	}{{"registration_deadline", e.RegistrationDeadline, false}, {"list_deadline", e.ListDeadline, false}, {"day", e.Day, true}}
	var last time.Time
	lastField := ""
	for _, d := range dates {
		if d.v == "" {
			if d.req {
				rep.errorf(d.field, CodeRequired)
			}
			continue
		}
		t, err := time.Parse(time.DateOnly, d.v)
		if err != nil {
			rep.errorf(d.field, CodeDateFormat)
			continue
		}
		if lastField != "" && t.Before(last) {
			rep.Errors = append(rep.Errors, Issue{d.field, CodeElectionOrder,
				"日期早于" + lastField + " / date is before " + lastField})
		}
		last, lastField = t, d.field
	}
	return rep.Errors
}

// Rules are the validation rules of the election: the age check against
// its day (off when the day is not set or not a date).
func (e Election) Rules() Rules {
	day, err := time.Parse(time.DateOnly, e.Day)
	if err != nil {
		return Rules{}
	}
	return Rules{ElectionDay: day}
}
