package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/dengji/dengji/server/roll"
	"github.com/dengji/dengji/server/store"
)

func init() {
	commands["export roll"] = command{"导出选民名单（--posted 为张榜公布版）/ export a district's voter roll (--posted: the version to post)", runExport}
	commands["export stats"] = command{"导出统计（含乡镇、县小计）/ export statistics with town and county subtotals", runExport}
	commands["export verification"] = command{"导出待核实名单 / export the verification list", runExport}
}

func runExport(ctx context.Context, args []string, out io.Writer) error {
	var dir, district, format, outFile string
	var posted, english bool
	cmd := strings.TrimPrefix(cmdPath(ctx), "export ")
	fs := newFlags("export "+cmd, &dir)
	switch cmd {
	case "roll":
		fs.StringVar(&district, "district", "", "选区代码 / district code")
		fs.BoolVar(&posted, "posted", false, "张榜公布版：身份证号打码，不含电话和地址 / posted version: masked ID numbers, no phone or address")
	case "verification":
		fs.StringVar(&district, "district", "", "选区代码或乡镇、县的代码（默认全部）/ a district's code or a town's or county's (default: all)")
	}
	fs.StringVar(&format, "format", "csv", "csv|xlsx（roll、verification）或 csv|json（stats）")
	fs.BoolVar(&english, "english", false, "英文表头 / English headers")
	fs.StringVar(&outFile, "out", "", "输出文件（默认标准输出）/ output file (default stdout)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if cmd == "roll" && district == "" {
		return fmt.Errorf("%w: --district 必填 / --district is required", errUsage)
	}
	w, closeOut, err := outputTo(outFile, out)
	if err != nil {
		return err
	}
	err = withStore(dir, func(st store.Store) error {
		switch cmd {
		case "roll":
			n, err := roll.ExportRoll(ctx, st, w, roll.RollOptions{District: district, Format: format,
				Posted: posted, English: english})
			if err == nil && outFile != "" {
				fmt.Fprintf(out, "已导出 / exported %d 名选民 voters to %s\n", n, outFile)
			}
			return err
		case "verification":
			n, err := exportVerification(ctx, st, w, district, format, english)
			if err == nil && outFile != "" {
				fmt.Fprintf(out, "已导出 / exported %d 条待核实登记 registrations to verify to %s\n", n, outFile)
			}
			return err
		}
		return exportStats(ctx, st, w, format, english)
	})
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	return err
}

func exportStats(ctx context.Context, st store.Store, w io.Writer, format string, english bool) error {
	s, err := roll.ComputeStats(ctx, st, nil)
	if err != nil {
		return err
	}
	switch format {
	case "csv":
		return s.WriteCSV(w, english)
	case "json":
		return s.WriteJSON(w)
	}
	return fmt.Errorf("%w: --format csv|json", errUsage)
}

// exportVerification writes the verification list of the districts whose
// code begins with area (all if "").
func exportVerification(ctx context.Context, st store.Store, w io.Writer, area, format string, english bool) (int, error) {
	if format != roll.FormatCSV && format != roll.FormatXLSX {
		return 0, fmt.Errorf("%w: --format csv|xlsx", errUsage)
	}
	var districts []string // nil: all
	if area != "" {
		err := st.View(ctx, func(tx store.Tx) error {
			var err error
			districts, err = store.DistrictsUnder(tx, []string{area})
			return err
		})
		if err != nil {
			return 0, err
		}
	}
	return roll.ExportVerification(ctx, st, w, roll.VerificationOptions{Districts: districts, Format: format, English: english})
}

func outputTo(path string, stdout io.Writer) (io.Writer, func() error, error) {
	if path == "" {
		return stdout, func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	return f, f.Close, nil
}
