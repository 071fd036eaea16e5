package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/dengji/dengji/server/roll"
	"github.com/dengji/dengji/server/store"
)

func init() {
	commands["export"] = command{"导出 roll（选民榜）|stats（统计）|verification（待核实）|duplicates / export a voter roll, statistics, the verification list or duplicates", runExport}
}

const exportUsage = "dengji export roll --district CODE [--format csv|xlsx] [--posted] [--english] [--out FILE]\n" +
	"       dengji export stats [--format csv|json] [--english] [--out FILE]\n" +
	"       dengji export verification [--district CODE] [--format csv|xlsx] [--english] [--out FILE]"

func runExport(ctx context.Context, args []string, out io.Writer) error {
	if len(args) > 0 && args[0] == "duplicates" {
		return exportDuplicates(ctx, args[1:], out) // cmd_dedup.go
	}
	if len(args) == 0 || (args[0] != "roll" && args[0] != "stats" && args[0] != "verification") {
		return fmt.Errorf("%w: %s", errUsage, exportUsage)
	}
	var dir, district, format, outFile string
	var posted, english bool
	fs := newFlags("export "+args[0], &dir)
	switch args[0] {
	case "roll":
		fs.StringVar(&district, "district", "", "选区代码 / district code")
		fs.BoolVar(&posted, "posted", false, "张榜公布版：身份证号打码，不含电话和地址 / posted version: masked ID numbers, no phone or address")
	case "verification":
		fs.StringVar(&district, "district", "", "选区代码或乡镇、县的代码（默认全部）/ a district's code or a town's or county's (default: all)")
	}
	fs.StringVar(&format, "format", "csv", "csv|xlsx（roll、verification）或 csv|json（stats）")
	fs.BoolVar(&english, "english", false, "英文表头 / English headers")
	fs.StringVar(&outFile, "out", "", "输出文件（默认标准输出）/ output file (default stdout)")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: 多余的参数 / unexpected argument %q\n%s", errUsage, pos[0], exportUsage)
	}
	if args[0] == "roll" && district == "" {
		return fmt.Errorf("%w: --district 必填 / --district is required\n%s", errUsage, exportUsage)
	}
	w, closeOut, err := outputTo(outFile, out)
	if err != nil {
		return err
	}
	err = withStore(dir, func(st store.Store) error {
		switch args[0] {
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
