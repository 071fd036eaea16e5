package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/dengji/dengji/server/bench"
	"github.com/dengji/dengji/server/store/pgstore"
)

func init() {
	commands["bench sync"] = command{"同步性能测试（在临时目录中）/ the sync benchmark (in a temporary directory)", runBench}
}

func runBench(ctx context.Context, args []string, out io.Writer) error {
	cfg := bench.DefaultConfig()
	var dir string
	var asJSON bool
	fs := newFlags("bench sync", &dir)
	fs.IntVar(&cfg.Records, "records", cfg.Records, "一台设备推送的记录数 / records one device pushes")
	fs.IntVar(&cfg.Bootstrap, "bootstrap", cfg.Bootstrap, "新设备初始同步的记录数 / records a new device bootstraps")
	fs.IntVar(&cfg.Devices, "devices", cfg.Devices, "同时推送的设备数 / devices pushing at once")
	fs.IntVar(&cfg.PerDevice, "per-device", cfg.PerDevice, "每台并发设备推送的记录数 / records per concurrent device")
	fs.BoolVar(&asJSON, "json", false, "输出 JSON / print one JSON object")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "",
		"每个计时阶段写一个 CPU 剖析文件 FILE.push|bootstrap|concurrent / profile each timed phase into FILE.push|bootstrap|concurrent")
	if err := parse(fs, args); err != nil {
		return err
	}
	// The benchmark runs on a temporary directory, or, given --store
	// postgres://…, on a scratch schema of that database, dropped after: a
	// data directory given is never touched.
	if pgstore.IsURL(dir) {
		cfg.Store = dir
	}
	f, err := bench.Sync(ctx, cfg)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(out).Encode(f)
	}
	fmt.Fprintf(out, "推送 / push:        %d records in %.2f s = %.0f records/s (avg %d bytes)\n", f.Records, f.PushSeconds, f.PushRecordsPerS, f.AvgRecordBytes)
	fmt.Fprintf(out, "初始同步 / bootstrap: %d records in %.2f s\n", f.BootstrapRecords, f.BootstrapSeconds)
	fmt.Fprintf(out, "并发 / concurrent:   %d devices, %d records in %.2f s = %.0f records/s\n", f.Devices, f.ConcurrentRecords, f.ConcurrentSeconds, f.ConcurrentPushRecordsPerS)
	fmt.Fprintf(out, "错误 / errors:       %d\n", f.Errors)
	return nil
}
