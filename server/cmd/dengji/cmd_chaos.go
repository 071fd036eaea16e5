package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/dengji/dengji/server/chaos"
	"github.com/dengji/dengji/server/store/pgstore"
)

func init() {
	commands["chaos"] = command{"混沌测试：带故障的随机同步运行 / seeded fault runs against a real server", runChaos}
}

const chaosUsage = `dengji chaos [--runs N] [--seed S] [--parallel P] [--only STEPS] [--faults STEP=F+F,…] [--store postgres://URL [--servers N]] [--no-shrink] [--json]

在临时目录中运行 N 次带种子的混沌测试（第 i 次使用种子 S+i）：每次启动一个真实的
服务器子进程和若干设备，离线编辑、在故障下同步（请求重复、延迟、乱序、断开，
应答丢失，服务器被 SIGKILL 后重启，设备进程崩溃，设备文件还原为旧副本，时钟偏差，
协调员处理冲突），最后检查：没有丢失、没有重复应用、没有被悄悄覆盖，所有设备一致，
审计链完整。出现失败时缩减到仍然失败的最短步骤序列，打印重放命令，退出码为1。
不读写数据目录；--store postgres://URL 时，每次运行使用该数据库中的一个新 schema
（运行后删除），由 --servers 个服务器进程同时服务。

Runs N seeded chaos runs in a temporary directory (run i uses seed S+i):
each starts a real server child process and a few devices, edits offline,
syncs through faults (requests duplicated, delayed, reordered, cut; answers
lost; the server SIGKILLed and restarted; device processes crashing; device
files restored from an older copy; skewed clocks; a coordinator deciding
conflicts), then checks that nothing was lost, applied twice or silently
overwritten, that every device agrees with the server, and that the audit
chain verifies. A failure is shrunk to the shortest sequence of steps that
still fails and printed with the command that replays it; exit status 1.
A data directory (--store DIR, --data) is not touched; --store postgres://URL
runs each on a new schema of that database, dropped after it, served by
--servers processes at once.

`

func runChaos(ctx context.Context, args []string, out io.Writer) error {
	chaos.ServeIfChild(chaos.OpenAny) // started by a run as its server: serve and never return
	var dir, only, faults string
	var servers int
	var asJSON bool
	cfg := chaos.Config{Replay: "dengji chaos"}
	fs := newFlags("chaos", &dir)
	fs.IntVar(&cfg.Runs, "runs", 100, "运行次数 / number of runs")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "第一次运行的种子 / seed of the first run")
	fs.IntVar(&cfg.Parallel, "parallel", 2, "同时进行的运行数 / runs at once")
	fs.StringVar(&only, "only", "", "只重放这些步骤，如 3-5,9 / replay only these steps, e.g. 3-5,9")
	fs.StringVar(&faults, "faults", "", "重放时替换这些步骤的故障，如 13=kill_server+delay,20=none / replay with these steps' faults, e.g. 13=kill_server+delay,20=none")
	fs.IntVar(&servers, "servers", 2, "与 --store 一起：共用数据库的服务器进程数 / with --store: server processes sharing the database")
	fs.BoolVar(&cfg.NoShrink, "no-shrink", false, "失败时不缩减 / report a failure without shrinking it")
	fs.BoolVar(&asJSON, "json", false, "以JSON输出统计 / print the figures as JSON")
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, chaosUsage)
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 || cfg.Runs < 1 {
		return fmt.Errorf("%w: dengji chaos [--runs N] [--seed S] [--only STEPS]", errUsage)
	}
	if only != "" {
		var err error
		if cfg.Only, err = chaos.ParseSteps(only); err != nil {
			return fmt.Errorf("%w: --only: %v", errUsage, err)
		}
	}
	if faults != "" {
		var err error
		if cfg.Faults, err = chaos.ParseFaults(faults); err != nil {
			return fmt.Errorf("%w: --faults: %v", errUsage, err)
		}
	}
	cfg.Backend = func(dir string) chaos.Backend {
		return &chaos.Process{Location: dir, Command: chaos.SelfCommand("chaos")}
	}
	if pgstore.IsURL(dir) { // a data directory is never touched; a database gets a schema per run
		cfg.Backend = chaos.PostgreSQL(dir, servers, chaos.SelfCommand("chaos"))
		cfg.Replay = fmt.Sprintf("dengji chaos --store '%s' --servers %d", dir, servers)
	}
	if !asJSON {
		cfg.Progress = os.Stderr
	}
	st, err := chaos.Run(ctx, cfg)
	if asJSON {
		json.NewEncoder(out).Encode(st)
	} else {
		fmt.Fprintln(out, st)
	}
	var f *chaos.Failure
	if errors.As(err, &f) {
		fmt.Fprintln(out, f)
		return errors.New("混沌测试发现问题 / a chaos run broke an invariant")
	}
	return err
}
