package roll

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// SettingElectionDay is the settings key holding the election day
// (YYYY-MM-DD) that the age check uses.
const SettingElectionDay = "election_day"

// Import defaults.
const (
	DefaultBatchSize = 2000 // rows per store transaction
	DefaultMaxErrors = 1000 // row errors a Report keeps
	DefaultAuthor    = "import"
	refPrefix        = "registration:"
)

// Row-error codes of the import itself; the others are model issue codes.
const (
	CodeDistrictUnknown = "district_unknown" // the district was never imported
	CodeRowRejected     = "row_rejected"     // the store refused the change
)

var importMessages = map[string]string{
	CodeDistrictUnknown: "选区不存在，请先导入选区 / unknown district: import the districts first",
	CodeDistrictCode:    "选区代码缺失或重复 / district code is missing or repeated",
	CodeDistrictName:    "选区名称缺失 / district name is missing",
	CodeDistrictKind:    "选区类型应为 村、社区 或 单位 / kind must be village, community or work_unit",
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
	// OnError, if set, sees every row error as it is found, also those past
	// MaxErrors.
	OnError func(RowError)
	// MaxErrors caps Report.Errors (DefaultMaxErrors if 0; negative: no cap).
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

// Report is the outcome of an import.
type Report struct {
	Read      int        `json:"read"`      // data rows read (blank rows skipped)
	Imported  int        `json:"imported"`  // rows written
	Unchanged int        `json:"unchanged"` // rows imported before (same reference)
	Rejected  int        `json:"rejected"`  // rows with at least one error
	Errors    []RowError `json:"errors"`
	// ErrorsOmitted counts row errors past Options.MaxErrors.
	ErrorsOmitted int `json:"errors_omitted,omitempty"`
}

func (rep *Report) addError(opt *Options, e RowError) {
	if opt.OnError != nil {
		opt.OnError(e)
	}
	if opt.MaxErrors > 0 && len(rep.Errors) >= opt.MaxErrors {
		rep.ErrorsOmitted++
		return
	}
	rep.Errors = append(rep.Errors, e)
}

// item is a valid row on its way to the store.
type item struct {
	row    int
	refKey string
	ch     dsync.Change
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
func ImportRegistrations(ctx context.Context, st store.Store, r io.Reader, opt Options) (*Report, error) {
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

	rep := &Report{Errors: []RowError{}}
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
		}
		e.rules, err = rulesIn(tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("roll: load districts and rules: %w", err)
	}
	return e, nil
}

// rulesIn reads the validation rules kept in the store's settings.
func rulesIn(tx store.Tx) (model.Rules, error) {
	var rules model.Rules
	v, err := tx.Setting(SettingElectionDay)
	if errors.Is(err, store.ErrNotFound) {
		return rules, nil
	}
	if err != nil {
		return rules, err
	}
	rules.ElectionDay, err = time.Parse(time.DateOnly, string(v))
	if err != nil {
		return rules, fmt.Errorf("roll: setting %s: %w", SettingElectionDay, err)
	}
	return rules, nil
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
// then validate; and the district must be known.
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
	code, known := p.env.districts[district]
	if !known {
		code = district
	}
	rep := model.Validate(model.TypeRegistration, code, fields, p.env.rules)
	var errs []RowError
	for _, is := range rep.Errors {
		errs = append(errs, RowError{Row: row, Column: p.cols.name(is.Field), Code: is.Code, Reason: is.Message})
	}
	if district != "" && !known {
		errs = append(errs, RowError{Row: row, Column: p.cols.name(colDistrict), Code: CodeDistrictUnknown,
			Reason: importMessages[CodeDistrictUnknown]})
	}
	if len(errs) > 0 {
		return item{}, errs
	}
	return item{row: row, refKey: refKey(fields), ch: newCreate(code, fields)}, nil
}

// refKey is the row's identity across imports: its ref column, or else
// its (validated, normalized) ID number.
func refKey(fields map[string]json.RawMessage) string {
	var ref, id string
	json.Unmarshal(fields["ref"], &ref)
	if ref != "" {
		return refPrefix + ref
	}
	json.Unmarshal(fields["id_number"], &id)
	return refPrefix + "id:" + id
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
	for _, e := range b.errs {
		w.rep.addError(w.opt, e)
	}
	if len(b.items) > 0 {
		if err := w.push(ctx, b.items); err != nil {
			return err
		}
	}
	if w.opt.Progress != nil && w.rep.Read/w.opt.ProgressEvery > w.lastTick {
		w.lastTick = w.rep.Read / w.opt.ProgressEvery
		w.opt.Progress(w.rep.Read)
	}
	return nil
}

// push writes the rows whose reference is new. References are checked
// first in a read transaction, so a re-import writes nothing at all, and
// again inside the push's own transaction (refGuard), so two imports
// running at once cannot both create the same voter.
func (w *writer) push(ctx context.Context, items []item) error {
	fresh, err := w.newItems(ctx, items)
	if err != nil {
		return err
	}
	w.rep.Unchanged += len(items) - len(fresh)
	if len(fresh) == 0 {
		return nil
	}
	changes := make([]dsync.Change, len(fresh))
	guard := refGuard{keys: make(map[string]string, len(fresh)), seen: map[string]bool{}}
	for i := range fresh {
		ch := &fresh[i].ch
		changes[i] = *ch
		guard.keys[ch.Record] = fresh[i].refKey
	}
	results, err := store.Push(ctx, w.st, store.PushRequest{Device: store.ServerDevice,
		Author: w.opt.Author, Changes: changes, Validate: guard.validate})
	if err != nil {
		return fmt.Errorf("roll: write rows %d-%d: %w", fresh[0].row, fresh[len(fresh)-1].row, err)
	}
	for i, res := range results {
		switch {
		case res.Status == dsync.StatusApplied:
			w.rep.Imported++
		case guard.seen[fresh[i].ch.Record]:
			w.rep.Unchanged++
		default:
			w.rep.Rejected++
			w.rep.addError(w.opt, RowError{Row: fresh[i].row, Code: CodeRowRejected,
				Reason: res.Code + ": " + res.Reason})
		}
	}
	return nil
}

// newItems drops the items whose reference exists, or repeats an earlier
// item of the batch.
func (w *writer) newItems(ctx context.Context, items []item) ([]item, error) {
	var fresh []item
	inBatch := make(map[string]bool, len(items))
	err := w.st.View(ctx, func(tx store.Tx) error {
		fresh = fresh[:0]
		for _, it := range items {
			if inBatch[it.refKey] {
				continue
			}
			inBatch[it.refKey] = true
			_, err := tx.Ref(it.refKey)
			if err == nil {
				continue
			}
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			fresh = append(fresh, it)
		}
		return nil
	})
	return fresh, err
}

// refGuard is the push's validator: inside the write transaction it refuses
// a record whose reference exists and records the reference of one that
// does not, so the record and its reference commit together. The rows were
// validated against the model already, with the same rules.
type refGuard struct {
	keys map[string]string // record ID -> reference key
	seen map[string]bool   // record IDs refused because the reference exists
}

var errRefExists = errors.New("roll: reference imported before")

func (g refGuard) validate(tx store.SyncTx, rec *dsync.Record) error {
	key := g.keys[rec.ID]
	if _, err := tx.Ref(key); err == nil {
		g.seen[rec.ID] = true
		return errRefExists
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return tx.PutRef(key, rec.ID)
}
