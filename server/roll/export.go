package roll

import (
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/mozillazg/go-pinyin"
	"github.com/xuri/excelize/v2"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/audit"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// RollOptions choose what ExportRoll writes.
type RollOptions struct {
	District string
	Format   string // FormatCSV (default) or FormatXLSX
	// Posted is the version posted in public (张榜公布): masked ID numbers,
	// no phone, no address, and none of the four categories (四种人), who are
	// listed separately by the office. Otherwise the office's complete list.
	Posted  bool
	English bool // English headers and labels instead of Simplified Chinese
}

// Entry is one line of a voter roll.
type Entry struct {
	ID       string // record ID
	District string
	model.Registration
	// IDStatus and Reasons say whether the registration needs verification
	// (待核实) and why (model.Report); set on the office roll only.
	IDStatus      model.IDStatus
	Reasons       []model.Issue
	pinyin, tones string // sort keys
}

// ExportRoll writes the voter roll (选民榜) of a district: its registered,
// living (not deleted, not removed) voters, by voter group, then by name in
// pinyin order. CSV starts with a UTF-8 byte-order mark, so Excel opens it
// as UTF-8. It returns the number of voters written. The office version
// (not posted: ID numbers, phones and addresses in full) is recorded in the
// audit log before it is written.
func ExportRoll(ctx context.Context, st store.Store, w io.Writer, opt RollOptions) (int, error) {
	entries, err := Roll(ctx, st, opt.District, opt.Posted)
	if err != nil {
		return 0, err
	}
	if !opt.Posted {
		if err := recordExport(ctx, st, "roll", opt.District, audit.D{"format": opt.Format, "count": len(entries)}); err != nil {
			return 0, err
		}
	}
	header, lines := rollTable(entries, opt)
	sheet := "选民榜"
	if opt.English {
		sheet = "Voter roll"
	}
	return len(entries), writeTable(w, opt.Format, sheet, header, lines)
}

// rollTable is the header and lines of a roll's entries.
func rollTable(entries []Entry, opt RollOptions) ([]string, func(func([]string) bool)) {
	cols := rollColumns(opt.Posted)
	header := make([]string, len(cols))
	for i, c := range cols {
		header[i] = c.zh
		if opt.English {
			header[i] = c.en
		}
	}
	lines := func(yield func([]string) bool) {
		for i := range entries {
			row := make([]string, len(cols))
			for j, c := range cols {
				row[j] = c.value(i, &entries[i], opt.English)
			}
			if !yield(row) {
				return
			}
		}
	}
	return header, lines
}

// writeTable writes a header and lines as CSV ("" too) or as one XLSX
// sheet.
func writeTable(w io.Writer, format, sheet string, header []string, lines func(func([]string) bool)) error {
	switch format {
	case "", FormatCSV:
		return writeCSV(w, header, lines)
	case FormatXLSX:
		return writeXLSX(w, sheet, header, lines)
	}
	return fmt.Errorf("%w: format %q: use csv or xlsx", ErrFormat, format)
}

// reasonsText joins the messages of issues in one language: the Chinese
// half of each bilingual message, or with english the English half.
func reasonsText(issues []model.Issue, english bool) string {
	parts := make([]string, len(issues))
	for i, is := range issues {
		parts[i] = messageIn(is.Message, english)
	}
	if english {
		return strings.Join(parts, "; ")
	}
	return strings.Join(parts, "；")
}

// messageIn is one language's half of a "中文 / English" message.
func messageIn(msg string, english bool) string {
	zh, en, ok := strings.Cut(msg, " / ")
	switch {
	case !ok:
		return msg
	case english:
		return en
	}
	return zh
}

// Roll reads a district's roll in posting order. With posted, voters in
// the four categories are left out.
func Roll(ctx context.Context, st store.Store, district string, posted bool) ([]Entry, error) {
	var out []Entry
	err := st.View(ctx, func(tx store.Tx) error {
		if _, err := tx.District(district); errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: %q", ErrUnknownDistrict, district)
		} else if err != nil {
			return err
		}
		var err error
		out, err = districtEntries(tx, district, posted, nil)
		return err
	})
	return out, err
}

// districtEntries reads the living registrations of a district in posting
// order; posted leaves out the four categories, and otherwise each entry
// says whether it needs verification.
//
// keep, if not nil, chooses the entries wanted before their sort keys are
// spelled (the verification list wants few of them).
func districtEntries(tx store.Tx, district string, posted bool, keep func(*Entry) bool) ([]Entry, error) {
	var out []Entry
	var cursor uint64
	for {
		recs, more, err := tx.Feed([]string{district}, cursor, 1000)
		if err != nil {
			return nil, err
		}
		for i := range recs {
			cursor = recs[i].Seq
			if e, ok := rollEntry(&recs[i], posted); ok && (keep == nil || keep(&e)) {
				e.spell()
				out = append(out, e)
			}
		}
		if !more {
			break
		}
	}
	slices.SortFunc(out, compareEntries)
	return out, nil
}

func rollEntry(rec *dsync.Record, posted bool) (Entry, bool) {
	if rec.Type != model.TypeRegistration || rec.Deleted() {
		return Entry{}, false
	}
	reg, err := model.RegistrationFromFields(rec.Values())
	if err != nil || reg.Status == "removed" || (posted && reg.Category != "") {
		return Entry{}, false
	}
	e := Entry{ID: rec.ID, District: rec.District, Registration: reg}
	if !posted {
		rep := model.ValidateSeq(rec.Type, rec.District, rec.All(), model.Rules{})
		e.IDStatus, e.Reasons = rep.IDStatus, rep.Reasons()
	}
	return e, true
}

// spell sets the entry's sort keys: its name in pinyin, without and with
// tones.
func (e *Entry) spell() {
	e.pinyin, e.tones = pinyinKey(e.Name, pinyin.Normal), pinyinKey(e.Name, pinyin.Tone3)
}

var keepRune = func(r rune, _ pinyin.Args) []string { return []string{string(r)} }

// pinyinKey spells a name in pinyin, one syllable per character; characters
// without a reading (Latin letters, rare characters) stand for themselves.
func pinyinKey(name string, style int) string {
	a := pinyin.NewArgs()
	a.Style, a.Fallback = style, keepRune
	return strings.Join(pinyin.LazyPinyin(name, a), " ")
}

// compareEntries orders by voter group (第2组 before 第10组), then pinyin
// without tones, then tones, then the characters themselves, then the
// record ID so the order is total.
func compareEntries(a, b Entry) int {
	return cmp.Or(
		naturalCompare(a.VoterGroup, b.VoterGroup),
		strings.Compare(a.pinyin, b.pinyin),
		strings.Compare(a.tones, b.tones),
		strings.Compare(a.Name, b.Name),
		strings.Compare(a.ID, b.ID))
}

// naturalCompare compares strings with runs of digits compared as numbers.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, _ := strconv.Atoi(a[:da])
			nb, _ := strconv.Atoi(b[:db])
			if c := cmp.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func digitRun(s string) int {
	n := 0
	for n < len(s) && n < 9 && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// MaskID hides a resident ID number for a posted roll. It keeps the
// six-digit region code and masks the other twelve characters.
//
// Why not the common "first 6 and last 4": the ID holds the birth date
// (digits 7-14), and the posted roll shows the birth year and month beside
// it; the last four as well would leave only the day to guess. What stays
// secret is the day, the three-digit sequence and the check character. The
// region and the birth month are enough for a voter to recognise their own
// line among namesakes, which is what a posting is for; anyone needing the
// number asks the office.
func MaskID(id string) string {
	if len(id) <= 6 {
		return strings.Repeat("*", len(id))
	}
	return id[:6] + strings.Repeat("*", len(id)-6)
}

// birthMonth is YYYY-MM of a YYYY-MM-DD date ("" stays "").
func birthMonth(date string) string {
	if len(date) < 7 {
		return date
	}
	return date[:7]
}

// rollColumn is one column of a roll.
type rollColumn struct {
	zh, en string
	value  func(i int, e *Entry, english bool) string
}

func enumLabel(e model.Enum, code string, english bool) string {
	zh, en, ok := e.Label(code)
	switch {
	case !ok:
		return code
	case english:
		return en
	}
	return zh
}

func rollColumns(posted bool) []rollColumn {
	cols := []rollColumn{
		{"序号", "No.", func(i int, _ *Entry, _ bool) string { return strconv.Itoa(i + 1) }},
		{"选民小组", "Voter group", func(_ int, e *Entry, _ bool) string { return e.VoterGroup }},
		{"姓名", "Name", func(_ int, e *Entry, _ bool) string { return e.Name }},
		{"性别", "Gender", func(_ int, e *Entry, en bool) string { return enumLabel(model.Genders, e.Gender, en) }},
	}
	if posted {
		// The birth year and month, not the date: with the region of the
		// masked ID number, a full date would narrow a person down to a few.
		return append(cols,
			rollColumn{"出生年月", "Birth month", func(_ int, e *Entry, _ bool) string { return birthMonth(e.BirthDate) }},
			rollColumn{"身份证号", "ID number", func(_ int, e *Entry, _ bool) string { return MaskID(e.IDNumber) }})
	}
	return append(cols,
		rollColumn{"出生日期", "Birth date", func(_ int, e *Entry, _ bool) string { return e.BirthDate }},
		rollColumn{"身份证号", "ID number", func(_ int, e *Entry, _ bool) string { return e.IDNumber }},
		rollColumn{"户籍地址", "Household address", func(_ int, e *Entry, _ bool) string { return e.HouseholdAddress }},
		rollColumn{"现住址", "Residence address", func(_ int, e *Entry, _ bool) string { return e.ResidenceAddress }},
		rollColumn{"联系电话", "Phone", func(_ int, e *Entry, _ bool) string { return e.Phone }},
		rollColumn{"登记方式", "Channel", func(_ int, e *Entry, en bool) string {
			return enumLabel(model.RegistrationChannels, e.Channel, en)
		}},
		rollColumn{"增加原因", "Addition reason", func(_ int, e *Entry, en bool) string {
			return enumLabel(model.AdditionReasons, e.AdditionReason, en)
		}},
		rollColumn{"四种人", "Four categories", func(_ int, e *Entry, en bool) string {
			return enumLabel(model.Categories, e.Category, en)
		}},
		rollColumn{"待核实", "Needs verification", func(_ int, e *Entry, en bool) string {
			return reasonsText(e.Reasons, en)
		}},
		rollColumn{"编号", "Ref", func(_ int, e *Entry, _ bool) string { return e.Ref }},
		rollColumn{"记录ID", "Record ID", func(_ int, e *Entry, _ bool) string { return e.ID }},
	)
}

// writeCSV writes a UTF-8 CSV with a byte-order mark.
func writeCSV(w io.Writer, header []string, lines func(func([]string) bool)) error {
	if _, err := w.Write(bomUTF8); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Write(header)
	for row := range lines {
		for i, v := range row {
			row[i] = defuseFormula(v)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// defuseFormula stops a spreadsheet from running a cell typed by a
// registrar as a formula (CSV injection): such a cell gets a leading
// apostrophe. Phone numbers like "0731-…" and dates are untouched.
func defuseFormula(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// writeXLSX streams one sheet. Every cell is text, so ID numbers keep all
// their digits.
func writeXLSX(w io.Writer, sheet string, header []string, lines func(func([]string) bool)) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	if err := writeSheet(f, sheet, header, lines); err != nil {
		return err
	}
	_, err := f.WriteTo(w)
	return err
}

// writeSheet streams header and lines into a sheet of f.
func writeSheet(f *excelize.File, sheet string, header []string, lines func(func([]string) bool)) error {
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	for i, h := range header {
		sw.SetColWidth(i+1, i+1, colWidth(h))
	}
	if err := sw.SetRow("A1", cells(header)); err != nil {
		return err
	}
	n := 2
	for row := range lines {
		if err := sw.SetRow("A"+strconv.Itoa(n), cells(row)); err != nil {
			return err
		}
		n++
	}
	return sw.Flush()
}

func colWidth(h string) float64 {
	switch h {
	case "身份证号", "ID number", "记录ID", "Record ID":
		return 22
	case "户籍地址", "现住址", "Household address", "Residence address", "待核实", "Needs verification", "原因", "Reasons":
		return 30
	}
	w := 0.0
	for _, r := range h {
		w++
		if unicode.Is(unicode.Han, r) {
			w++
		}
	}
	return max(8, w+2)
}

func cells(row []string) []any {
	out := make([]any, len(row))
	for i, v := range row {
		out[i] = v
	}
	return out
}
