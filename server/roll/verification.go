package roll

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/mozillazg/go-pinyin"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/audit"
	"github.com/dengji/dengji/server/store"
)

// Unverified is a registration on the verification list (待核实): its
// identity is not established (model.Report.NeedsVerification), and the
// reasons say what a registrar should check.
type Unverified struct {
	Record     string         `json:"record"`
	District   string         `json:"district"`
	VoterGroup string         `json:"voter_group,omitempty"`
	Name       string         `json:"name"`
	Gender     string         `json:"gender,omitempty"`
	BirthDate  string         `json:"birth_date,omitempty"`
	IDNumber   string         `json:"id_number,omitempty"`
	IDStatus   model.IDStatus `json:"id_status"`
	Reasons    []model.Issue  `json:"reasons"`
}

// VerificationQuery chooses a page of the verification list.
type VerificationQuery struct {
	// Districts are the district codes to list (a scope filter's answer);
	// nil lists every district.
	Districts []string
	After     string // a previous page's Next; "" for the first page
	Limit     int    // 0: no limit
	// Candidates, if set, names the records of a district that may need
	// verification (a Tally's Unverified, refreshed just before); those
	// are read instead of every record of the district, and checked
	// again. A district it does not know (ok false) is read whole.
	Candidates func(district string) (ids []string, ok bool)
}

// VerificationPage is a page of the verification list.
type VerificationPage struct {
	Items []Unverified `json:"items"`
	Next  string       `json:"next,omitempty"` // cursor of the next page; "" on the last
}

// listKey is an entry's place in the list: district, then the roll's
// order. A page's cursor is the record ID of its last item, which says
// nothing of the person in a URL; the next page starts right after that
// record's place, even when it was verified or removed meanwhile.
type listKey struct {
	District, Group, Pinyin, Tones, Name, ID string
}

func keyOf(e *Entry) listKey {
	return listKey{e.District, e.VoterGroup, e.pinyin, e.tones, e.Name, e.ID}
}

func compareKeys(a, b listKey) int {
	return cmp.Or(strings.Compare(a.District, b.District),
		naturalCompare(a.Group, b.Group),
		strings.Compare(a.Pinyin, b.Pinyin),
		strings.Compare(a.Tones, b.Tones),
		strings.Compare(a.Name, b.Name),
		strings.Compare(a.ID, b.ID))
}

// cursorKey is the place of the registration a cursor names.
func cursorKey(tx store.Tx, id string) (listKey, error) {
	rec, err := tx.Record(id)
	if errors.Is(err, store.ErrNotFound) || err == nil && rec.Type != model.TypeRegistration {
		return listKey{}, fmt.Errorf("%w: %q", ErrCursor, id)
	}
	if err != nil {
		return listKey{}, err
	}
	reg, _ := model.RegistrationFromFields(rec.Values())
	return listKey{rec.District, reg.VoterGroup, pinyinKey(reg.Name, pinyin.Normal),
		pinyinKey(reg.Name, pinyin.Tone3), reg.Name, rec.ID}, nil
}

// ListUnverified lists the living registrations (not deleted, not removed)
// of the districts asked for that need verification, ordered by district,
// then voter group, then name as the roll orders them. Only the districts
// a page needs are read. Each page (it shows ID numbers) is recorded in the
// audit log.
func ListUnverified(ctx context.Context, st store.Store, q VerificationQuery) (*VerificationPage, error) {
	page := &VerificationPage{Items: []Unverified{}}
	err := st.View(ctx, func(tx store.Tx) error {
		var after *listKey
		if q.After != "" {
			k, err := cursorKey(tx, q.After)
			if err != nil {
				return err
			}
			after = &k
		}
		districts := slices.Clone(q.Districts)
		if districts == nil {
			var err error
			if districts, err = tx.FeedDistricts(""); err != nil {
				return err
			}
		}
		slices.Sort(districts)
		var last string // record ID of the page's last item
		for _, d := range slices.Compact(districts) {
			if after != nil && d < after.District {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			entries, err := q.entries(tx, d)
			if err != nil {
				return err
			}
			for i := range entries {
				e := &entries[i]
				k := keyOf(e)
				if e.IDStatus == "" || e.IDStatus == model.IDVerified || after != nil && compareKeys(k, *after) <= 0 {
					continue
				}
				if q.Limit > 0 && len(page.Items) == q.Limit {
					page.Next = last // one more exists
					return nil
				}
				page.Items = append(page.Items, unverified(e))
				last = e.ID
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	target := ""
	if len(q.Districts) == 1 {
		target = q.Districts[0]
	}
	d := audit.D{"count": len(page.Items), "districts": len(q.Districts), "after": q.After != ""}
	if q.Districts == nil {
		d["districts"] = "all"
	}
	if err := recordExport(ctx, st, "verification", target, d); err != nil {
		return nil, err
	}
	return page, nil
}

func needsVerification(e *Entry) bool { return e.IDStatus != "" && e.IDStatus != model.IDVerified }

func unverified(e *Entry) Unverified {
	return Unverified{Record: e.ID, District: e.District, VoterGroup: e.VoterGroup, Name: e.Name,
		Gender: e.Gender, BirthDate: e.BirthDate, IDNumber: e.IDNumber, IDStatus: e.IDStatus,
		Reasons: e.Reasons}
}

// VerificationOptions choose what ExportVerification writes.
type VerificationOptions struct {
	Districts []string // as VerificationQuery.Districts
	Format    string   // FormatCSV (default) or FormatXLSX
	English   bool     // English headers and labels instead of Simplified Chinese
}

// ExportVerification writes the verification list: district, voter group,
// name, gender, birth date, ID number, ID status, reasons and record ID,
// one line per registration. It returns the number written.
func ExportVerification(ctx context.Context, st store.Store, w io.Writer, opt VerificationOptions) (int, error) {
	page, err := ListUnverified(ctx, st, VerificationQuery{Districts: opt.Districts})
	if err != nil {
		return 0, err
	}
	header := []string{"选区", "选民小组", "姓名", "性别", "出生日期", "身份证号", "核实状态", "原因", "记录ID"}
	sheet := "待核实"
	if opt.English {
		header = []string{"District", "Voter group", "Name", "Gender", "Birth date", "ID number", "ID status", "Reasons", "Record ID"}
		sheet = "Needs verification"
	}
	lines := func(yield func([]string) bool) {
		for _, u := range page.Items {
			zh, en := u.IDStatus.Label()
			status := zh
			if opt.English {
				status = en
			}
			row := []string{u.District, u.VoterGroup, u.Name, enumLabel(model.Genders, u.Gender, opt.English),
				u.BirthDate, u.IDNumber, status, reasonsText(u.Reasons, opt.English), u.Record}
			if !yield(row) {
				return
			}
		}
	}
	return len(page.Items), writeTable(w, opt.Format, sheet, header, lines)
}

// entries are a district's registrations needing verification, in roll
// order: read from the candidates when q has them, else from the feed.
func (q *VerificationQuery) entries(tx store.Tx, district string) ([]Entry, error) {
	if q.Candidates == nil {
		return districtEntries(tx, district, false, needsVerification)
	}
	ids, ok := q.Candidates(district)
	if !ok {
		return districtEntries(tx, district, false, needsVerification)
	}
	var out []Entry
	for _, id := range ids {
		rec, err := tx.Record(id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if e, ok := rollEntry(rec, false); ok && rec.District == district && needsVerification(&e) {
			e.spell()
			out = append(out, e)
		}
	}
	slices.SortFunc(out, compareEntries)
	return out, nil
}
