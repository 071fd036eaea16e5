package sdk

import (
	"strings"
	"unicode"

	json "github.com/dengji/dengji/internal/jsonx"
	"github.com/mozillazg/go-pinyin"
	"go.etcd.io/bbolt"

	dsync "github.com/dengji/dengji/sync"
)

// ListPage returns up to limit records matching f whose IDs come after
// after ("" from the start), in ID order, and the after of the next page
// ("" at the end). Records are read one at a time, so a list of any size
// costs the memory of one page.
func (d *Device) ListPage(f ListFilter, after string, limit int) ([]*dsync.Record, string, error) {
	return d.scan(after, limit, f.match)
}

// Search finds the live records a registrar looks for at the door, up to
// limit after after (as ListSummaries pages): by name, written in
// characters ("李碧") or as the pinyin initials of the name ("lbh", any
// case); by the last digits of the ID number ("1241", at least four); or by
// a part of an address ("水塘垸"). It answers their summaries, as a list
// of results shows them, read from the summaries' small pages alone; Get
// reads the record the registrar opens.
func (d *Device) Search(query string, after string, limit int) ([]*Summary, string, error) {
	q := strings.TrimSpace(query)
	if q == "" {
		return nil, "", nil
	}
	return d.scanSummaries(after, limit, searchMatcher(q))
}

// scan reads the view in ID order after after, keeping up to limit records
// that match.
func (d *Device) scan(after string, limit int, match func(*dsync.Record) bool) ([]*dsync.Record, string, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []*dsync.Record
	next := ""
	err := d.db.View(func(tx *bbolt.Tx) error {
		return forEachViewTx(tx, after, func(r *dsync.Record) (bool, error) {
			if !match(r) {
				return true, nil
			}
			if len(out) == limit {
				next = out[len(out)-1].ID
				return false, nil
			}
			out = append(out, r)
			return true, nil
		})
	})
	return out, next, err
}

// searchMatcher is what Search matches query against.
func searchMatcher(q string) func(*Summary) bool {
	digits := strings.IndexFunc(q, func(r rune) bool { return !unicode.IsDigit(r) && r != 'x' && r != 'X' }) < 0
	letters := strings.IndexFunc(q, func(r rune) bool { return r > unicode.MaxASCII || !unicode.IsLetter(r) }) < 0
	switch {
	case digits && len(q) >= 4:
		suffix := strings.ToUpper(q)
		return func(s *Summary) bool {
			return !s.Deleted && strings.HasSuffix(strings.ToUpper(s.IDNumber), suffix)
		}
	case letters:
		initials := strings.ToLower(q)
		return func(s *Summary) bool { return !s.Deleted && strings.HasPrefix(s.Initials, initials) }
	}
	return func(s *Summary) bool {
		return !s.Deleted && (strings.Contains(s.Name, q) || strings.Contains(s.HouseholdAddress, q) ||
			strings.Contains(s.ResidenceAddress, q))
	}
}

var initialsArgs = func() pinyin.Args {
	a := pinyin.NewArgs()
	a.Style = pinyin.FirstLetter
	return a
}()

// pinyinInitials is the first letter of each character's reading ("李碧辉"
// → "lbh"); characters without one keep their own lower case.
func pinyinInitials(name string) string {
	var b strings.Builder
	for _, r := range name {
		if p := pinyin.SinglePinyin(r, initialsArgs); len(p) > 0 && p[0] != "" {
			b.WriteString(p[0])
		} else {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// stringField is a field's string value ("" if absent or not a string).
func stringField(r *dsync.Record, field string) string {
	var s string
	if f, ok := r.Fields[field]; ok {
		json.Unmarshal(f.Value, &s)
	}
	return s
}
