package eval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/dengji/dengji/server/dedup/gen"
	"github.com/dengji/dengji/server/dedupjob"
	"github.com/dengji/dengji/server/roll"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore"
)

// ProductConfig says what roll to put through the product.
type ProductConfig struct {
	Records int
	Seed    uint64
	Dir     string // work folder; "": a temporary one, removed afterwards
	// Engine, when set, replaces dedupjob.DefaultOptions (e.g. fewer workers).
	Engine *dedupjob.Options
}

// Stage is one step of the product path and how long it took.
type Stage struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// ImportReport is what an import said.
type ImportReport struct {
	Read     int            `json:"read"`
	Imported int            `json:"imported"`
	Rejected int            `json:"rejected"`
	Reasons  map[string]int `json:"reasons,omitempty"` // rows refused per error code
}

// ProductResult is the outcome of a roll put through the product.
type ProductResult struct {
	Records       int              `json:"records"`
	Seed          uint64           `json:"seed"`
	Counties      []string         `json:"counties"`
	Districts     ImportReport     `json:"districts"`
	Registrations ImportReport     `json:"registrations"`
	Dedup         dedupjob.Summary `json:"dedup"`
	ExportRows    int              `json:"export_rows"`
	Stages        []Stage          `json:"stages"`
	Scores        *Scores          `json:"scores"`
}

// Product puts a generated roll through the product as an office would:
// the files written, districts and registrations imported into a fresh
// store, the full duplicate check, the duplicates exported as CSV and
// scored against the truth over every row of the file.
func Product(ctx context.Context, cfg ProductConfig) (*ProductResult, error) {
	dir := cfg.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "dengji-eval-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	res := &ProductResult{Records: cfg.Records, Seed: cfg.Seed}
	stage := func(name string, start time.Time) {
		res.Stages = append(res.Stages, Stage{name, time.Since(start).Seconds()})
	}

	t := time.Now()
	r := gen.NewRoll(gen.DefaultConfig(cfg.Records, cfg.Seed))
	files := gen.FilesFor(filepath.Join(dir, "roll.csv"))
	if err := r.WriteFiles(files); err != nil {
		return nil, fmt.Errorf("eval: write roll: %w", err)
	}
	res.Counties = r.Counties
	stage("gen", t)

	st, err := boltstore.Open(filepath.Join(dir, "data"))
	if err != nil {
		return nil, fmt.Errorf("eval: open store: %w", err)
	}
	defer st.Close()

	t = time.Now()
	if res.Districts, _, err = importFile(ctx, st, files.Districts, roll.ImportDistricts, nil); err != nil {
		return nil, err
	}
	stage("import districts", t)
	t = time.Now()
	refused := map[string]bool{}
	refOf := func(row int) string { // the spreadsheet's row: the header is row 1
		if i := row - 2; i >= 0 && i < len(r.Records) {
			return r.Records[i].ID
		}
		return ""
	}
	if res.Registrations, _, err = importFile(ctx, st, files.Registrations, roll.ImportRegistrations,
		func(e roll.RowError) { refused[refOf(e.Row)] = true }); err != nil {
		return nil, err
	}
	stage("import registrations", t)

	t = time.Now()
	opt := dedupjob.DefaultOptions()
	if cfg.Engine != nil {
		opt = *cfg.Engine
	}
	if res.Dedup, err = dedupjob.Run(ctx, st, opt); err != nil {
		return nil, fmt.Errorf("eval: dedup: %w", err)
	}
	stage("dedup", t)

	t = time.Now()
	dupFile := filepath.Join(dir, "duplicates.csv")
	if res.ExportRows, err = exportDuplicates(ctx, st, dupFile); err != nil {
		return nil, err
	}
	stage("export", t)

	t = time.Now()
	res.Scores, err = ScoreFiles(files.Truth, dupFile, ScoreOptions{Rows: len(r.Records),
		Imported: res.Registrations.Imported, Refused: refused})
	if err != nil {
		return nil, err
	}
	stage("score", t)
	return res, nil
}

type importer func(context.Context, store.Store, io.Reader, roll.Options) (*roll.Report, error)

func importFile(ctx context.Context, st store.Store, path string, imp importer, onErr func(roll.RowError)) (ImportReport, *roll.Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return ImportReport{}, nil, err
	}
	defer f.Close()
	out := ImportReport{Reasons: map[string]int{}}
	lastRow := -1
	opt := roll.Options{MaxErrors: 1, OnError: func(e roll.RowError) {
		if e.Row != lastRow { // count a row once, by its first error
			lastRow = e.Row
			out.Reasons[e.Code]++
		}
		if onErr != nil {
			onErr(e)
		}
	}}
	rep, err := imp(ctx, st, f, opt)
	if rep != nil {
		out.Read, out.Imported, out.Rejected = rep.Read, rep.Imported, rep.Rejected
	}
	if err != nil {
		return out, rep, fmt.Errorf("eval: import %s: %w", filepath.Base(path), err)
	}
	return out, rep, nil
}

func exportDuplicates(ctx context.Context, st store.Store, path string) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	n, err := dedupjob.WriteCSV(ctx, st, f, store.DupCaseQuery{})
	if err = errors.Join(err, f.Close()); err != nil {
		return n, fmt.Errorf("eval: export duplicates: %w", err)
	}
	return n, nil
}

// ScoreFiles is Score over a truth file and an exported duplicates file.
func ScoreFiles(truthPath, dupPath string, opt ScoreOptions) (*Scores, error) {
	tf, err := os.Open(truthPath)
	if err != nil {
		return nil, err
	}
	defer tf.Close()
	df, err := os.Open(dupPath)
	if err != nil {
		return nil, err
	}
	defer df.Close()
	return Score(tf, df, opt)
}

// PrintProduct prints the import reports, the stages' timings and the scores.
func PrintProduct(w io.Writer, res *ProductResult) {
	fmt.Fprintf(w, "产品路径评估 / product-path evaluation: %d 行 rows, 种子 / seed %d, 县 / counties %v\n",
		res.Records, res.Seed, res.Counties)
	for _, x := range []struct {
		name string
		rep  ImportReport
	}{{"选区 / districts", res.Districts}, {"登记 / registrations", res.Registrations}} {
		fmt.Fprintf(w, "导入%s: 读取 / read %d，导入 / imported %d，有误 / rejected %d\n", x.name, x.rep.Read,
			x.rep.Imported, x.rep.Rejected)
		codes := make([]string, 0, len(x.rep.Reasons))
		for c := range x.rep.Reasons {
			codes = append(codes, c)
		}
		sort.Slice(codes, func(i, j int) bool { return x.rep.Reasons[codes[i]] > x.rep.Reasons[codes[j]] })
		for _, c := range codes {
			fmt.Fprintf(w, "    %-24s %d\n", c, x.rep.Reasons[c])
		}
	}
	fmt.Fprintf(w, "查重 / dedup: 登记 / records %d，案例 / cases %d（自动 / auto %d，待审 / review %d）；导出 / exported %d 行 rows\n",
		res.Dedup.Records, res.Dedup.Cases, res.Dedup.Auto, res.Dedup.Review, res.ExportRows)
	fmt.Fprintf(w, "用时 / seconds:")
	for _, s := range res.Stages {
		fmt.Fprintf(w, " %s %.1f;", s.Name, s.Seconds)
	}
	fmt.Fprintln(w)
	PrintScores(w, res.Scores)
	PrintBreakdown(w, res.Scores)
}
