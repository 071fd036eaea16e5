package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"github.com/dengji/dengji/server/dedup/eval"
	"github.com/dengji/dengji/server/dedupjob"
	"github.com/dengji/dengji/server/store"
)

func init() {
	commands["dedup"] = command{"跨选区查重（全量或 --incremental）/ run the cross-district duplicate check", runDedup}
	commands["dedup eval"] = command{"评估查重引擎（--product 走产品路径）/ evaluate the engine (--product: through the product)", runDedupEval}
	commands["dedup score"] = command{"按真值给导出的重复登记评分 / score an exported duplicates CSV against the truth", runDedupScore}
	commands["export duplicates"] = command{"导出疑似重复登记 CSV / export the suspected duplicates as CSV", exportDuplicates}
}

// dedupStderr receives progress; tests replace it.
var dedupStderr io.Writer = os.Stderr

// defaultFEBRLDir is where the FEBRL benchmark sits next to a checkout.
const defaultFEBRLDir = "../shared/data/febrl"

func runDedup(ctx context.Context, args []string, out io.Writer) error {
	var dir, profile string
	var incremental bool
	fs := newFlags("dedup", &dir)
	fs.BoolVar(&incremental, "incremental", false,
		"只比对上次查重后变更的登记（索引由数据目录重建；从未全量查重时执行全量）/ only registrations changed since the last run (the index is rebuilt from the data directory; full if no full run was ever made)")
	fs.StringVar(&profile, "cpuprofile", "", "把 CPU 剖析写入此文件 / write a CPU profile of the run to FILE")
	if err := parse(fs, args); err != nil {
		return err
	}
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	opt := dedupjob.DefaultOptions()
	opt.Progress = dedupProgress(dedupStderr)
	return withStore(dir, func(st store.Store) error {
		job := dedupjob.New(st, opt)
		run := job.Run
		if incremental {
			run = job.RunIncremental
		}
		sum, err := run(ctx)
		if err != nil {
			return err
		}
		printSummary(out, sum)
		return nil
	})
}

// dedupProgress prints each phase's start and a line each time another
// 500,000 records are loaded.
func dedupProgress(w io.Writer) dedupjob.Progress {
	last, printed := "", 0
	return func(phase string, done, total int) {
		switch {
		case phase != last:
			last, printed = phase, 0
			fmt.Fprintf(w, "%s …\n", phaseNames[phase])
		case phase == dedupjob.PhaseLoad && done/500000 > printed:
			printed = done / 500000
			fmt.Fprintf(w, "  已读取 / read %d\n", done)
		}
	}
}

var phaseNames = map[string]string{
	dedupjob.PhaseLoad:  "读取登记 / loading registrations",
	dedupjob.PhaseMatch: "比对 / matching",
	dedupjob.PhaseSave:  "保存案例 / saving cases",
	dedupjob.PhaseIndex: "重建索引 / rebuilding the index",
}

func printSummary(w io.Writer, s dedupjob.Summary) {
	kind := "增量 / incremental"
	if s.Full {
		kind = "全量 / full"
	}
	fmt.Fprintf(w, "查重完成（%s）/ duplicate check done\n", kind)
	fmt.Fprintf(w, "  登记 / records:        %d\n", s.Records)
	fmt.Fprintf(w, "  比对 / pairs scored:   %d\n", s.Compared)
	fmt.Fprintf(w, "  案例 / cases:          %d（自动 / auto %d，待审 / review %d，新增 / new %d，撤销 / dropped %d）\n",
		s.Cases, s.Auto, s.Review, s.New, s.Dropped)
	fmt.Fprintf(w, "  已决定 / kept decisions: 确认 / confirmed %d，否定 / rejected %d\n", s.Confirmed, s.Rejected)
	fmt.Fprintf(w, "  用时 / seconds:        %.1f\n", s.Seconds)
}

func runDedupEval(_ context.Context, args []string, out io.Writer) error {
	var dir, febrl string
	var records int
	var seed uint64
	var product, asJSON bool
	fs := newFlags("dedup eval", &dir)
	fs.BoolVar(&product, "product", false, "走产品路径：生成、导入、查重、导出、评分 / through the product: gen, import, dedup, export, score")
	fs.BoolVar(&asJSON, "json", false, "以 JSON 输出（--product）/ print JSON (--product)")
	fs.IntVar(&records, "records", 100000, "生成名册的记录数（0 跳过）/ records in the generated roll (0: skip)")
	fs.Uint64Var(&seed, "seed", 1, "生成器种子 / generator seed")
	fs.StringVar(&febrl, "febrl", "", "FEBRL 数据目录（默认 "+defaultFEBRLDir+"，存在时）/ FEBRL folder (default "+defaultFEBRLDir+" if present)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if records < 0 || product && records == 0 {
		return fmt.Errorf("%w: --records 须为正数 / --records must be positive", errUsage)
	}
	if product {
		return runProductEval(records, seed, asJSON, out)
	}
	if febrl == "" {
		if _, err := os.Stat(defaultFEBRLDir); err == nil {
			febrl = defaultFEBRLDir
		}
	}
	return eval.RunEval(out, eval.Config{Records: records, Seed: seed, FEBRLDir: febrl})
}

// exportDuplicates is `dengji export duplicates`: one CSV row per
// registration in a case (header dedupjob.CSVHeader).
func exportDuplicates(ctx context.Context, args []string, out io.Writer) error {
	var dir, format, outFile, status, district string
	fs := newFlags("export duplicates", &dir)
	fs.StringVar(&format, "format", "csv", "只支持 csv / csv only")
	fs.StringVar(&outFile, "out", "", "输出文件（默认标准输出）/ output file (default stdout)")
	fs.StringVar(&status, "status", "", "open|confirmed|rejected（默认全部 / default all）")
	fs.StringVar(&district, "district", "", "只导出涉及该选区的案例 / only cases touching this district")
	if err := parse(fs, args); err != nil {
		return err
	}
	if format != "csv" {
		return fmt.Errorf("%w: --format 只支持 csv / --format: csv only", errUsage)
	}
	q := store.DupCaseQuery{Status: store.DupStatus(status)}
	if district != "" {
		q.Districts = []string{district}
	}
	w := out
	var f *os.File
	if outFile != "" {
		var err error
		if f, err = os.Create(outFile); err != nil {
			return err
		}
		w = f
	}
	var n int
	err := withStore(dir, func(st store.Store) error {
		var err error
		n, err = dedupjob.WriteCSV(ctx, st, w, q)
		return err
	})
	if f != nil {
		err = errors.Join(err, f.Close())
		if err == nil {
			fmt.Fprintf(out, "已导出 / exported %d 行 rows to %s\n", n, outFile)
		}
	}
	return err
}
