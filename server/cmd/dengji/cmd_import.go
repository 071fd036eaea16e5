package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/dengji/dengji/server/roll"
	"github.com/dengji/dengji/server/store"
)

func init() {
	commands["import districts"] = command{"导入选区表 FILE（CSV/XLSX）/ import districts", runImport}
	commands["import registrations"] = command{"导入选民登记 FILE（CSV/XLSX）/ import registrations", runImport}
}

// rollStderr receives progress and row errors; tests replace it.
var rollStderr io.Writer = os.Stderr

// errAllRejected is the command's failure when the file had rows and none
// of them went in.
var errAllRejected = errors.New("文件中的行全部有误，未导入任何记录 / every row of the file was rejected: nothing was imported")

func runImport(ctx context.Context, args []string, out io.Writer) error {
	var dir, errFile, author, format string
	var asJSON bool
	cmd := cmdPath(ctx)
	fs := newFlags(cmd, &dir)
	fs.StringVar(&errFile, "errors", "", "把出错和待核实的行写入此 CSV 文件（默认出错的行写到标准错误）/ write row errors and warnings to this CSV file (default: errors to stderr)")
	fs.StringVar(&author, "author", roll.DefaultAuthor, "记为导入人的用户名 / user the changes are attributed to")
	fs.StringVar(&format, "format", "", "csv 或 xlsx（默认按扩展名或内容判断）/ csv or xlsx (default: by extension or content)")
	fs.BoolVar(&asJSON, "json", false, "在标准输出打印 JSON 格式的导入报告 / print the report as one JSON object on stdout")
	pos, err := parsePositional(fs, args, "FILE")
	if err != nil {
		return err
	}
	path := pos[0]
	if format == "" {
		format = roll.FormatOf(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := rowErrorWriter(errFile, asJSON)
	if err != nil {
		return err
	}
	opt := roll.Options{Author: author, Format: format, OnError: rows.error, OnWarning: rows.warning,
		Progress: func(n int) { fmt.Fprintf(rollStderr, "已导入 / imported %d 行 rows …\n", n) }}
	if !asJSON {
		opt.MaxErrors = 1 // the rows go to the CSV; the summary needs only the counts
	}
	var rep *roll.Report
	err = withStore(dir, func(st store.Store) error {
		if cmd == "import districts" {
			rep, err = roll.ImportDistricts(ctx, st, f, opt)
		} else {
			rep, err = roll.ImportRegistrations(ctx, st, f, opt)
		}
		return err
	})
	if cerr := rows.close(); err == nil {
		err = cerr
	}
	if rep != nil {
		if perr := printReport(out, rep, asJSON, errFile); err == nil {
			err = perr
		}
	}
	if err == nil && rep.AllRejected() {
		err = fmt.Errorf("%w（%d 行 / rows）", errAllRejected, rep.Read)
	}
	return err
}

func printReport(out io.Writer, rep *roll.Report, asJSON bool, errFile string) error {
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetEscapeHTML(false)
		return enc.Encode(rep)
	}
	fmt.Fprintf(out, "读取 / read %d，导入 / imported %d（待核实 / needs verification %d），未变 / unchanged %d，有误 / rejected %d\n",
		rep.Read, rep.Imported, rep.NeedsVerification, rep.Unchanged, rep.Rejected)
	switch {
	case errFile != "" && rep.Rejected+rep.NeedsVerification > 0:
		fmt.Fprintf(out, "出错和待核实的行见 / row errors and warnings in %s\n", errFile)
	case rep.NeedsVerification > 0:
		fmt.Fprintln(out, "待核实的行已导入；--errors FILE 列出原因，dengji export verification 列出全部待核实登记 / "+
			"rows needing verification were imported: --errors FILE lists why, dengji export verification lists them all")
	}
	return nil
}

// rowWriter writes row errors and warnings as CSV: 类型/kind (错误/error
// or 警告/warning), 行/row, 列/column, 代码/code, 原因/reason.
type rowWriter struct {
	error, warning func(roll.RowError)
	close          func() error
}

// rowErrorWriter writes errors and warnings to path; with no path, errors
// only to stderr, unless the report goes out as JSON, which holds them.
func rowErrorWriter(path string, asJSON bool) (rowWriter, error) {
	w, closeFile := rollStderr, func() error { return nil }
	if path != "" {
		f, err := os.Create(path)
		if err != nil {
			return rowWriter{}, err
		}
		f.Write([]byte("\xEF\xBB\xBF"))
		w, closeFile = f, f.Close
	}
	cw := csv.NewWriter(w)
	header := false
	write := func(kind string) func(roll.RowError) {
		return func(e roll.RowError) {
			if !header {
				cw.Write(roll.RowErrorHeader)
				header = true
			}
			cw.Write(e.CSVRow(kind))
		}
	}
	rw := rowWriter{error: write(roll.KindError), close: func() error {
		cw.Flush()
		if err := cw.Error(); err != nil {
			closeFile()
			return err
		}
		return closeFile()
	}}
	switch {
	case path != "":
		rw.warning = write(roll.KindWarning)
	case asJSON:
		rw.error = nil
	}
	return rw, nil
}
