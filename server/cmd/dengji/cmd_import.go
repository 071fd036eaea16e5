package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/dengji/dengji/server/roll"
	"github.com/dengji/dengji/server/store"
)

func init() {
	commands["import"] = command{"导入 districts|registrations FILE（CSV/XLSX）/ import districts or registrations", runImport}
}

// rollStderr receives progress and row errors; tests replace it.
var rollStderr io.Writer = os.Stderr

const importUsage = "dengji import districts|registrations [--errors FILE] [--author NAME] [--format csv|xlsx] FILE"

func runImport(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || (args[0] != "districts" && args[0] != "registrations") {
		return fmt.Errorf("%w: %s", errUsage, importUsage)
	}
	var dir, errFile, author, format string
	fs := newFlags("import "+args[0], &dir)
	fs.StringVar(&errFile, "errors", "", "把出错的行写入此 CSV 文件（默认标准错误）/ write row errors to this CSV file (default stderr)")
	fs.StringVar(&author, "author", roll.DefaultAuthor, "记为导入人的用户名 / user the changes are attributed to")
	fs.StringVar(&format, "format", "", "csv 或 xlsx（默认按扩展名或内容判断）/ csv or xlsx (default: by extension or content)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: %s", errUsage, importUsage)
	}
	path := fs.Arg(0)
	if format == "" {
		format = roll.FormatOf(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	errs, closeErrs, err := rowErrorWriter(errFile)
	if err != nil {
		return err
	}
	opt := roll.Options{Author: author, Format: format, MaxErrors: 1, OnError: errs,
		Progress: func(n int) { fmt.Fprintf(rollStderr, "已导入 / imported %d 行 rows …\n", n) }}
	var rep *roll.Report
	err = withStore(dir, func(st store.Store) error {
		if args[0] == "districts" {
			rep, err = roll.ImportDistricts(ctx, st, f, opt)
		} else {
			rep, err = roll.ImportRegistrations(ctx, st, f, opt)
		}
		return err
	})
	if cerr := closeErrs(); err == nil {
		err = cerr
	}
	if rep != nil {
		fmt.Fprintf(out, "读取 / read %d，导入 / imported %d，未变 / unchanged %d，有误 / rejected %d\n",
			rep.Read, rep.Imported, rep.Unchanged, rep.Rejected)
		if rep.Rejected > 0 && errFile != "" {
			fmt.Fprintf(out, "出错的行见 / row errors in %s\n", errFile)
		}
	}
	return err
}

// rowErrorWriter writes row errors as CSV (行/row, 列/column, 代码/code,
// 原因/reason) to path, or to stderr if path is "".
func rowErrorWriter(path string) (func(roll.RowError), func() error, error) {
	w, closeFile := rollStderr, func() error { return nil }
	if path != "" {
		f, err := os.Create(path)
		if err != nil {
			return nil, nil, err
		}
		f.Write([]byte("\xEF\xBB\xBF"))
		w, closeFile = f, f.Close
	}
	cw := csv.NewWriter(w)
	header := false
	write := func(e roll.RowError) {
		if !header {
			cw.Write([]string{"行/row", "列/column", "代码/code", "原因/reason"})
			header = true
		}
		cw.Write([]string{strconv.Itoa(e.Row), e.Column, e.Code, e.Reason})
	}
	done := func() error {
		cw.Flush()
		if err := cw.Error(); err != nil {
			closeFile()
			return err
		}
		return closeFile()
	}
	return write, done, nil
}
