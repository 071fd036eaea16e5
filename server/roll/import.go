package roll

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/election"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// SettingElectionDay is the settings key holding the election day alone
// (YYYY-MM-DD); package election keeps the whole election, and this too.
const SettingElectionDay = election.SettingDay

// Import defaults.
const (
	DefaultBatchSize = 2000 // rows per store transaction
	DefaultMaxErrors = 1000 // row errors a Report keeps, and as many warnings
	DefaultAuthor    = "import"
	refPrefix        = "registration:"
)

// Row-error codes of the import itself; the others are model issue codes.
const (
	CodeDistrictUnknown = "district_unknown" // the district was never imported
	CodeRowRejected     = "row_rejected"     // the store refused the change
)

var importMessages = map[string]string{
	CodeDistrictUnknown:    "选区不存在，请先导入选区 / unknown district: import the districts first",
	CodeDistrictCode:       "选区代码缺失或重复 / district code is missing or repeated",
	CodeDistrictName:       "选区名称缺失 / district name is missing",
	CodeDistrictPopulation: "人口应为非负整数 / population must be a whole number",
	CodeDistrictKind: "选区类型应为 村（村委会）、社区（居委会）或 单位（单位选区） / " +
		"kind must be village, community or work_unit",
	CodeDistrictCodeInvalid: "选区代码须以已知县（区）的6位代码开头，后接1至18位数字、大写字母或连字符 / " +
		"the district code must begin with a known county's 6-digit code, followed by 1 to 18 digits, capital letters or hyphens",
	CodeDistrictParent: "上级（乡镇、街道）代码须是选区代码的开头部分 / the parent (town) code must be the beginning of the district code",
	CodeDistrictCounty: "县（区）代码须是选区代码的前6位 / the county code must be the first 6 digits of the district code",
}

// Options tune an import. The zero value works.
type Options struct {
	Author    string // user the changes are attributed to; DefaultAuthor if empty
	Format    string // FormatCSV, FormatXLSX or "" to detect
	BatchSize int    // rows per transaction; DefaultBatchSize if 0
	// Progress, if set, is called with the number of rows done so far every
	// ProgressEvery rows (default 10,000) and once at the end.
	Progress      func(rows int)
	ProgressEvery int
	// OnError, if set, sees every row error, also those past MaxErrors;
	// OnWarning every warning of an imported row. Within a batch of rows
	// both are called in row order.
	OnError, OnWarning func(RowError)
	// MaxErrors caps Report.Errors and, separately, Report.Warnings
	// (DefaultMaxErrors if 0; negative: no cap).
	MaxErrors int
}

func (o *Options) defaults() {
	if o.Author == "" {
		o.Author = DefaultAuthor
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 10_000
	}
	if o.MaxErrors == 0 {
		o.MaxErrors = DefaultMaxErrors
	}
}

// RowError is one problem with one cell of the file.
type RowError struct {
	Row    int    `json:"row"`    // as the spreadsheet numbers it; the header is row 1
	Column string `json:"column"` // the header as the file writes it
	Code   string `json:"code"`   // a model issue code or a Code constant of this package
	Reason string `json:"reason"` // Chinese / English
}

// Report is the outcome of an import. Errors are the problems that kept a
// row out; warnings are those of rows imported all the same, which a person
// should look at: an ID number missing, failing its checks or disagreeing
// with the stated birth date or gender (the record needs verification,
// 待核实), a phone number that is not one.
type Report struct {
	Read     int `json:"read"`     // data rows read (blank rows skipped)
	Imported int `json:"imported"` // rows written
	// NeedsVerification counts the rows written whose identity is not
	// verified (model.Report.NeedsVerification), removed voters aside: they
	// are on the verification list.
	NeedsVerification int        `json:"needs_verification"`
	Rejected          int        `json:"rejected"`  // rows with at least one error, not written
	Unchanged         int        `json:"unchanged"` // rows imported before (same reference)
	Errors            []RowError `json:"errors"`
	Warnings          []RowError `json:"warnings"`
	// ErrorsOmitted and WarningsOmitted count those past Options.MaxErrors.
	ErrorsOmitted   int `json:"errors_omitted,omitempty"`
	WarningsOmitted int `json:"warnings_omitted,omitempty"`
}

func newReport() *Report { return &Report{Errors: []RowError{}, Warnings: []RowError{}} }

func (rep *Report) addError(opt *Options, e RowError) {
	if opt.OnError != nil {
		opt.OnError(e)
	}
	keepCapped(&rep.Errors, &rep.ErrorsOmitted, opt.MaxErrors, e)
}

func (rep *Report) addWarning(opt *Options, e RowError) {
	if opt.OnWarning != nil {
		opt.OnWarning(e)
	}
	keepCapped(&rep.Warnings, &rep.WarningsOmitted, opt.MaxErrors, e)
}

// keepCapped appends e to list, or counts it omitted once list holds max
// (no cap if max is negative).
func keepCapped(list *[]RowError, omitted *int, max int, e RowError) {
	if max > 0 && len(*list) >= max {
		*omitted++
		return
	}
	*list = append(*list, e)
}

// AllRejected reports whether the file had rows and every one of them was
// refused.
func (rep *Report) AllRejected() bool { return rep.Read > 0 && rep.Rejected == rep.Read }

// item is a valid row on its way to the store, with the warnings it is
// imported with.
type item struct {
	row        int
	refKey     string
	ch         dsync.Change
	warnings   []RowError
	unverified bool // needs verification (待核实)
}

// batch is what the reader hands the writer.
type batch struct {
	items    []item
	errs     []RowError
	read     int
	rejected int
}

// ImportRegistrations reads registrations from r and writes the valid rows
// as server changes, BatchSize rows per transaction. Bad rows are reported
// and skipped; the others go in. A row is identified by its ref column, or
// else by its ID number: a row seen before is counted unchanged, so
// importing a file twice writes nothing the second time.
//
// The file is read and checked in one goroutine while the previous batch is
// written in another. An error is returned only when the file cannot be
// read or the store fails; the rows committed until then stay.
//
// The import's audit entry (its counts, never a row) is appended when it is
// over, failed or not.
func ImportRegistrations(ctx context.Context, st store.Store, r io.Reader, opt Options) (_ *Report, err error) {
	opt.defaults()
	env, err := loadEnv(ctx, st)
	if err != nil {
		return nil, err
	}
	src, err := openRows(r, opt.Format)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	cols, err := registrationHeader(src)
	if err != nil {
		return nil, err
	}
	_, isXLSX := src.(*xlsxRows)
	p := &parser{env: env, cols: cols, xlsx: isXLSX}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan batch, 2)
	readErr := make(chan error, 1)
	go func() {
		defer close(batches)
		readErr <- p.run(ctx, src, opt.BatchSize, batches)
	}()

	rep := newReport()
	defer func() { err = recordImport(ctx, st, importDetails("registrations", formatOf(src), rep), err) }()
	w := writer{st: st, opt: &opt, rep: rep}
	for b := range batches {
		if err := w.write(ctx, b); err != nil {
			cancel()
			for range batches { // let the reader finish
			}
			return rep, err
		}
	}
	if err := <-readErr; err != nil {
		return rep, err
	}
	if opt.Progress != nil {
		opt.Progress(rep.Read)
	}
	return rep, nil
}

// env is what checking a row needs from the store.
type env struct {
	rules     model.Rules
	districts map[string]string // code, or name if unique -> code
}

func loadEnv(ctx context.Context, st store.Store) (*env, error) {
	e := &env{districts: map[string]string{}}
	err := st.View(ctx, func(tx store.Tx) error {
		ds, err := tx.Districts()
		if err != nil {
			return err
		}
		names := map[string]int{}
		for _, d := range ds {
			names[d.Name]++
		}
		for _, d := range ds {
			if names[d.Name] == 1 {
				e.districts[d.Name] = d.Code
			}
		}
		for _, d := range ds {
			e.districts[d.Code] = d.Code
			if up := strings.ToUpper(d.Code); e.districts[up] == "" {
				e.districts[up] = d.Code
			}
		}
		e.rules, err = rulesIn(tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("roll: load districts and rules: %w", err)
	}
	return e, nil
}

// rulesIn reads the validation rules of the election kept in the store.
func rulesIn(tx store.Tx) (model.Rules, error) {
	e, err := election.Get(tx)
	return e.Rules(), err
}

func registrationHeader(src rows) (columns, error) {
	_, cells, err := src.Next()
	if errors.Is(err, io.EOF) {
		return columns{}, fmt.Errorf("%w: the file is empty", ErrFormat)
	}
	if err != nil {
		return columns{}, err
	}
	cols := readHeader(cells)
	var missing []string
	for _, k := range []string{"name", "id_number", colDistrict} {
		if cols.header[k] == "" {
			missing = append(missing, zhLabels[k][0]+"/"+k)
		}
	}
	if len(missing) > 0 {
		return cols, fmt.Errorf("%w: 表头缺少列 / the header lacks columns: %s",
			ErrFormat, strings.Join(missing, ", "))
	}
	return cols, nil
}

// parser turns rows into checked changes.
type parser struct {
	env  *env
	cols columns
	xlsx bool
}

func (p *parser) run(ctx context.Context, src rows, size int, out chan<- batch) error {
	b := batch{items: make([]item, 0, size)}
	for {
		row, cells, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if blank(cells) {
			continue
		}
		b.read++
		it, errs := p.row(row, cells)
		if len(errs) > 0 {
			b.errs = append(b.errs, errs...)
			b.rejected++
		} else {
			b.items = append(b.items, it)
		}
		if b.read == size {
			select {
			case out <- b:
			case <-ctx.Done():
				return ctx.Err()
			}
			b = batch{items: make([]item, 0, size)}
		}
	}
	if b.read > 0 {
		select {
		case out <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// row checks one row the way a device checks a registration: normalize,
// then validate; and the district must be known. A row with errors is
// refused; one with warnings only (its ID number missing or doubtful, say)
// is imported with them.
func (p *parser) row(row int, cells []string) (item, []RowError) {
	fields := make(map[string]json.RawMessage, len(cells))
	var district string
	for i, cell := range cells {
		if i >= len(p.cols.key) || p.cols.key[i] == "" {
			continue
		}
		k, v := p.cols.key[i], strings.TrimSpace(cell)
		if v == "" {
			continue
		}
		switch {
		case k == colDistrict:
			district = v
			continue
		case k == "birth_date" && p.xlsx:
			if d, ok := excelSerialDate(v); ok {
				v = d
			}
		}
		fields[k] = jsonString(enumCode(k, v))
	}
	fields = model.Normalize(model.TypeRegistration, fields)
	code, known := p.env.district(district)
	rep := model.Validate(model.TypeRegistration, code, fields, p.env.rules)
	var errs []RowError
	issue := func(is model.Issue) RowError {
		return RowError{Row: row, Column: p.cols.name(is.Field), Code: is.Code, Reason: is.Message}
	}
	if district != "" && !known {
		errs = append(errs, RowError{Row: row, Column: p.cols.name(colDistrict), Code: CodeDistrictUnknown,
			Reason: importMessages[CodeDistrictUnknown]})
	}
	for _, is := range rep.Errors {
		if is.Field == colDistrict && len(errs) > 0 {
			continue // said once, as unknown to the districts table
		}
		errs = append(errs, issue(is))
	}
	if len(errs) > 0 {
		return item{}, errs
	}
	it := item{row: row, refKey: refKey(code, fields), ch: newCreate(code, fields),
		unverified: rep.NeedsVerification() && stringField(fields, "status") != "removed"}
	for _, is := range rep.Warnings {
		if is.Code != model.CodeNotNormalized && is.Code != model.CodeUnknownField {
			it.warnings = append(it.warnings, issue(is))
		}
	}
	return it, nil
}

// district resolves a registration's district cell, a code or a unique
// name, to a district of the table; ok is false for one not in it, whose
// code is then the cell itself.
func (e *env) district(cell string) (code string, ok bool) {
	if code, ok = e.districts[cell]; ok {
		return code, true
	}
	if code, ok = e.districts[strings.ToUpper(model.FoldWidthString(cell))]; ok {
		return code, true
	}
	return cell, false
}

// refKey is the row's identity across imports: its ref column, or else
// its district and (normalized) ID number, or, for a row with neither, what it says of
// the person: district, name, birth date, gender, addresses, phone and
// voter group. Rows without an ID number are then not folded into one.
func refKey(district string, fields map[string]json.RawMessage) string {
	if ref := stringField(fields, "ref"); ref != "" {
		return refPrefix + ref
	}
	if id := stringField(fields, "id_number"); id != "" {
		// By district too: one ID number in two districts is a duplicate
		// for the check to find (不重), not a row imported before.
		return refPrefix + "id:" + district + ":" + id
	}
	var b strings.Builder
	b.WriteString(refPrefix + "row:")
	b.WriteString(district)
	for _, k := range []string{"name", "birth_date", "gender", "household_address", "residence_address", "phone", "voter_group"} {
		b.WriteByte(0x1f)
		b.WriteString(stringField(fields, k))
	}
	return b.String()
}

func stringField(fields map[string]json.RawMessage, key string) string {
	var s string
	json.Unmarshal(fields[key], &s) // absent or not a string: ""
	return s
}

func newCreate(district string, fields map[string]json.RawMessage) dsync.Change {
	return dsync.Change{
		ID:       uuid.Must(uuid.NewV7()).String(),
		Device:   store.ServerDevice,
		Record:   uuid.Must(uuid.NewV7()).String(),
		Type:     model.TypeRegistration,
		District: district,
		Op:       dsync.OpCreate,
		Set:      fields,
		HLC:      dsync.MakeHLC(time.Now().UnixMilli(), 0),
	}
}

// jsonString quotes s as JSON. Cells rarely need escaping, so the common
// case skips the encoder (the import's hot path).
func jsonString(s string) json.RawMessage {
	plain := utf8.ValidString(s)
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' && c != 0xE2
	}
	if !plain {
		b, _ := json.Marshal(s) // a string always marshals
		return b
	}
	b := make([]byte, 0, len(s)+2)
	return append(append(append(b, '"'), s...), '"')
}

// writer pushes batches and keeps the report.
type writer struct {
	st       store.Store
	opt      *Options
	rep      *Report
	lastTick int
}

func (w *writer) write(ctx context.Context, b batch) error {
	w.rep.Read += b.read
	w.rep.Rejected += b.rejected
	notes := make([]note, 0, len(b.errs))
	for _, e := range b.errs {
		notes = append(notes, note{e, false})
	}
	if len(b.items) > 0 {
		var err error
		if notes, err = w.push(ctx, b.items, notes); err != nil {
			return err
		}
	}
	slices.SortStableFunc(notes, func(a, b note) int { return a.Row - b.Row })
	for _, n := range notes {
		if n.warning {
			w.rep.addWarning(w.opt, n.RowError)
		} else {
			w.rep.addError(w.opt, n.RowError)
		}
	}
	if w.opt.Progress != nil && w.rep.Read/w.opt.ProgressEvery > w.lastTick {
		w.lastTick = w.rep.Read / w.opt.ProgressEvery
		w.opt.Progress(w.rep.Read)
	}
	return nil
}

// note is a row error or warning of a batch, reported in row order.
type note struct {
	RowError
	warning bool
}

// push writes the rows whose reference is new, adding to notes the
// warnings of the rows written and the errors of those the store refused.
// References are checked first in a read transaction, so a re-import
// writes nothing at all, and again inside the push's own transaction
// (refGuard), so two imports running at once cannot both create the same
// voter.
func (w *writer) push(ctx context.Context, items []item, notes []note) ([]note, error) {
	fresh, err := w.newItems(ctx, items)
	if err != nil {
		return notes, err
	}
	w.rep.Unchanged += len(items) - len(fresh)
	if len(fresh) == 0 {
		return notes, nil
	}
	changes := make([]dsync.Change, len(fresh))
	guard := refGuard{keys: make(map[string]string, len(fresh)), seen: map[string]bool{}, read: new(store.SyncTx)}
	for i := range fresh {
		ch := &fresh[i].ch
		changes[i] = *ch
		guard.keys[ch.Record] = fresh[i].refKey
	}
	results, err := store.Push(ctx, w.st, store.PushRequest{Device: store.ServerDevice,
		Author: w.opt.Author, Changes: changes, Validate: guard.validate})
	if err != nil {
		return notes, fmt.Errorf("roll: write rows %d-%d: %w", fresh[0].row, fresh[len(fresh)-1].row, err)
	}
	for i, res := range results {
		it := &fresh[i]
		switch {
		case res.Status == dsync.StatusApplied:
			w.rep.Imported++
			if it.unverified {
				w.rep.NeedsVerification++
			}
			for _, e := range it.warnings {
				notes = append(notes, note{e, true})
			}
		case guard.seen[it.ch.Record]:
			w.rep.Unchanged++
		default:
			w.rep.Rejected++
			notes = append(notes, note{RowError{Row: it.row, Code: CodeRowRejected,
				Reason: res.Code + ": " + res.Reason}, false})
		}
	}
	return notes, nil
}

// newItems drops the items whose reference exists, or repeats an earlier
// item of the batch.
func (w *writer) newItems(ctx context.Context, items []item) ([]item, error) {
	keys := make([]string, len(items))
	for i := range items {
		keys[i] = items[i].refKey
	}
	var known map[string]string
	err := w.st.View(ctx, func(tx store.Tx) (err error) {
		known, err = tx.Refs(keys)
		return err
	})
	if err != nil {
		return nil, err
	}
	var fresh []item
	inBatch := make(map[string]bool, len(items))
	for _, it := range items {
		if _, ok := known[it.refKey]; ok || inBatch[it.refKey] {
			continue
		}
		inBatch[it.refKey] = true
		fresh = append(fresh, it)
	}
	return fresh, nil
}

// refGuard is the push's validator: inside the write transaction it refuses
// a record whose reference exists and records the reference of one that
// does not, so the record and its reference commit together. The rows were
// validated against the model already, with the same rules.
type refGuard struct {
	keys map[string]string // record ID -> reference key
	seen map[string]bool   // record IDs refused because the reference exists
	read *store.SyncTx     // the transaction that read the batch's references (tx.Refs)
}

var errRefExists = errors.New("roll: reference imported before")

func (g refGuard) validate(tx store.SyncTx, rec *dsync.Record) error {
	if *g.read != tx { // one read of them all, so that each Ref below costs no round trip
		*g.read = tx
		if _, err := tx.Refs(slices.Collect(maps.Values(g.keys))); err != nil {
			return err
		}
	}
	key := g.keys[rec.ID]
	if _, err := tx.Ref(key); err == nil {
		g.seen[rec.ID] = true
		return errRefExists
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return tx.PutRef(key, rec.ID)
}

// RowErrorHeader is the header of a CSV of row errors and warnings (the
// CLI's --errors file, the console's import report).
var RowErrorHeader = []string{"类型/kind", "行/row", "列/column", "代码/code", "原因/reason"}

// Kinds of a row problem in a CSV report.
const (
	KindError   = "错误/error"
	KindWarning = "警告/warning"
)

// CSVRow is e as a line under RowErrorHeader.
func (e RowError) CSVRow(kind string) []string {
	return []string{kind, strconv.Itoa(e.Row), e.Column, e.Code, e.Reason}
}
