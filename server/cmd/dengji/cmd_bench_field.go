package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/dengji/dengji/server/bench"
)

const benchFieldUsage = `dengji bench field [--bootstrap N] [--push N] [--links edge,edge_cuts,3g] [--json]

在进程内的链路模拟器（每个方向的时延、带宽上限、按种子重置连接）后面，
用真实的服务器和设备 SDK 测量：新设备初始同步 N 条记录的时间和字节数，
推送 N 条的时间，断线后重新下载的字节数，一条记录同步的往返次数，
设备文件大小和设备进程的峰值内存（设备进程 dengji-field-device 只链接 SDK，
和应用一样）。完整运行在 EDGE 上需要十几分钟。

Measures the real server and device SDK behind an in-process link emulator
(latency each way, bandwidth caps, connection resets on a seeded schedule):
a new device's bootstrap of N records (seconds, bytes), a push of N records,
the bytes fetched again after cuts, the round trips of a one-record sync,
the device file's size and the device process's peak RSS (the device
process, dengji-field-device, links the SDK alone, as an app does). Links: edge (300
ms, 200/100 kbit/s), edge_cuts (the same, each connection reset after 5-30
s), 3g (150 ms, 1 Mbit/s / 384 kbit/s). A full run takes a quarter of an
hour over EDGE; use smaller --bootstrap and --push for a quick one.

`

func init() {
	commands["bench field"] = command{"弱网现场性能测试（模拟 2G/3G 链路）/ the field benchmark over emulated 2G/3G links", runBenchField}
}

func runBenchField(ctx context.Context, args []string, out io.Writer) error {
	cfg := bench.DefaultFieldConfig()
	var dir, links, device string
	var asJSON bool
	fs := newFlags("bench field", &dir)
	fs.IntVar(&cfg.Bootstrap, "bootstrap", cfg.Bootstrap, "新设备初始同步的记录数 / records a new device bootstraps")
	fs.IntVar(&cfg.Push, "push", cfg.Push, "一台设备推送的记录数 / records one device pushes")
	fs.StringVar(&links, "links", "edge,edge_cuts,3g", "要测的链路 / links to measure")
	fs.BoolVar(&asJSON, "json", false, "输出 JSON / print one JSON object")
	fs.StringVar(&device, "device", "", "设备进程的程序（默认：dengji 旁边的 dengji-field-device，没有就用 go build 编译）/ "+
		"the device process's binary (default: dengji-field-device beside dengji, else built with go build)")
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, benchFieldUsage)
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	known := map[string]bench.LinkProfile{"edge": bench.LinkEDGE, "edge_cuts": bench.LinkEDGECuts, "3g": bench.Link3G}
	cfg.Links = nil
	for _, name := range strings.Split(links, ",") {
		p, ok := known[strings.TrimSpace(name)]
		if !ok {
			return fmt.Errorf("%w: 未知链路 / unknown link %q (edge, edge_cuts, 3g)", errUsage, name)
		}
		cfg.Links = append(cfg.Links, p)
	}
	if fs.NArg() != 0 || cfg.Bootstrap < 1 || cfg.Push < 1 {
		return fmt.Errorf("%w: %s", errUsage, benchFieldUsage)
	}
	// The device's side runs in a process of its own, a binary that links
	// the SDK alone, as an app does.
	device, done, err := fieldDevice(ctx, device)
	if err != nil {
		return err
	}
	defer done()
	cfg.DeviceCommand = []string{device}
	f, err := bench.Field(ctx, cfg)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(out).Encode(f)
	}
	return writeJSON(out, f)
}

// fieldDevice finds the device process's binary: the one named, else
// dengji-field-device beside this executable, else one go build makes in
// a temporary directory (from the module's source: run from within it).
// done removes what it built.
func fieldDevice(ctx context.Context, named string) (path string, done func(), err error) {
	done = func() {}
	if named != "" {
		return named, done, nil
	}
	const name = "dengji-field-device"
	if exe, err := os.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(exe), name); fileExists(p) {
			return p, done, nil
		}
	}
	dir, err := os.MkdirTemp("", name+"-")
	if err != nil {
		return "", done, err
	}
	done = func() { os.RemoveAll(dir) }
	path = filepath.Join(dir, name)
	out, err := exec.CommandContext(ctx, "go", "build", "-o", path, "github.com/dengji/dengji/server/cmd/"+name).CombinedOutput()
	if err != nil {
		done()
		return "", func() {}, fmt.Errorf("找不到设备程序 / no %s beside dengji, and go build failed "+
			"(build it with go build ./server/cmd/%s, or pass --device): %w\n%s", name, name, err, out)
	}
	return path, done, nil
}

func fileExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}
