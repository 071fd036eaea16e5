// Command dengji is the Dengji server and its operator tools: serve the API,
// manage users and devices, import and export rolls, run the duplicate check
// and the benchmarks. Every subcommand takes --data DIR.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore"
	"github.com/dengji/dengji/server/store/pgstore"
)

// command is one entry of the command table. Its key in commands is its
// path: "serve", "user add", "dedup eval". A path that is the beginning of
// others ("user") is a group: dengji lists its subcommands. A path may be
// both a command and a group ("dedup" runs the check, "dedup eval" the
// evaluation). Every command parses its flags through parse or
// parsePositional, which stop at -h/--help, accept flags before or after the
// positional arguments and refuse arguments the command does not take.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, out io.Writer) error
}

// commands is the command table, filled by each subcommand's file in its
// init: the one place a subcommand is registered. TestCLI_Rules walks it.
var commands = map[string]command{}

// stdout is where help goes (dengji exits 0 after it); run sets it to its
// out, so tests read help like any other output.
var stdout io.Writer = os.Stdout

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	limitMemory()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "dengji:", explain(err))
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("用法错误 / usage error")

// errHelp is what parsing returns after printing a command's help for -h or
// --help: the command stops there, touching nothing, and dengji exits 0.
var errHelp = errors.New("help printed")

// explain turns the errors an operator can cause into messages they can act
// on; anything else is shown as it is.
func explain(err error) string {
	var pe *fs.PathError
	switch {
	case errors.As(err, &pe) && !strings.Contains(err.Error(), " / "):
		return fmt.Sprintf("无法%s文件 %s（%s）/ cannot %s %s: %v", pathOps[pe.Op], pe.Path, pathErrZh(pe.Err), pe.Op, pe.Path, pe.Err)
	case errors.Is(err, store.ErrNotFound):
		return "找不到该用户或设备 / no such user or device"
	case errors.Is(err, accounts.ErrInvalid), errors.Is(err, accounts.ErrExists):
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 && errors.Is(err, accounts.ErrInvalid) {
			msg = msg[i+2:]
		}
		return strings.TrimPrefix(msg, "accounts: ")
	}
	return err.Error()
}

// run finds the longest path of the command table that args begin with and
// runs it with the rest; a group alone lists its subcommands.
// pathOps words the file operations an operator's error names.
var pathOps = map[string]string{"open": "打开", "stat": "读取", "read": "读取", "write": "写入", "create": "创建",
	"mkdir": "创建", "rename": "重命名", "remove": "删除"}

func pathErrZh(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "不存在"
	case errors.Is(err, fs.ErrPermission):
		return "没有权限"
	}
	return "出错"
}

func run(ctx context.Context, args []string, out io.Writer) error {
	stdout = out
	if len(args) == 0 || isHelp(args[0]) {
		usage(out, "")
		return nil
	}
	if args[0] == "help" { // dengji help user add = dengji user add --help
		return run(ctx, append(args[1:len(args):len(args)], "--help"), out)
	}
	path, rest := lookup(args)
	if path == "" {
		if subcommands(args[0]) == nil {
			return fmt.Errorf("%w: 未知命令 / unknown command %q（dengji --help 列出全部命令 / lists every command）", errUsage, args[0])
		}
		return runGroup(args[0], args[1:], out)
	}
	ctx = context.WithValue(ctx, pathKey{}, path)
	if err := commands[path].run(ctx, rest, out); !errors.Is(err, errHelp) {
		return err
	}
	return nil
}

type pathKey struct{}

// cmdPath is the path of the command running, for a run function that
// several paths share.
func cmdPath(ctx context.Context) string {
	p, _ := ctx.Value(pathKey{}).(string)
	return p
}

// lookup returns the longest command path args begin with, and the
// arguments after it.
func lookup(args []string) (string, []string) {
	path, n := "", 0
	for i := 1; i <= len(args); i++ {
		p := strings.Join(args[:i], " ")
		if _, ok := commands[p]; ok {
			path, n = p, i
		} else if subcommands(p) == nil {
			break
		}
	}
	return path, args[n:]
}

// runGroup answers a group named without a subcommand of it: its list of
// subcommands, as help for -h, else as a usage error.
func runGroup(group string, args []string, out io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		usage(out, group)
		return nil
	}
	if len(args) == 0 {
		return fmt.Errorf("%w: dengji %s 需要子命令 / needs a subcommand: %s", errUsage, group, strings.Join(subcommands(group), "|"))
	}
	return fmt.Errorf("%w: dengji %s 没有子命令 / has no subcommand %q", errUsage, group, args[0])
}

func isHelp(a string) bool { return a == "-h" || a == "--help" || a == "-help" }

// subcommands lists the next words after group among the command paths,
// sorted; nil if group is no group.
func subcommands(group string) []string {
	var subs []string
	for p := range commands {
		if rest, ok := strings.CutPrefix(p, group+" "); ok {
			if w, _, _ := strings.Cut(rest, " "); !slices.Contains(subs, w) {
				subs = append(subs, w)
			}
		}
	}
	sort.Strings(subs)
	return subs
}

// usage lists the commands under group ("" for all).
func usage(w io.Writer, group string) {
	title := "dengji"
	if group != "" {
		title += " " + group
	}
	fmt.Fprintf(w, "%s — 选民登记同步服务 / voter registration sync server\n\n用法 / usage: %s COMMAND [flags]\n\n命令 / commands:\n", title, title)
	paths := make([]string, 0, len(commands))
	for p := range commands {
		if group == "" || strings.HasPrefix(p, group+" ") {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	for _, p := range paths {
		fmt.Fprintf(w, "  %-22s %s\n", p, commands[p].summary)
	}
	fmt.Fprintln(w, "\n每个命令都接受 --store DIR|postgres://URL（数据目录或 PostgreSQL 数据库，--data 同义）和 -h/--help / every command takes --store DIR|postgres://URL, a bbolt data directory or a PostgreSQL database (--data is the same; default $DENGJI_STORE, $DENGJI_DATA or ./dengji-data), and -h/--help")
}

// newFlags makes a subcommand's flag set with the common store flag:
// --store, or --data as before, both naming a bbolt data directory or a
// postgres:// URL (default $DENGJI_STORE, else $DENGJI_DATA, else
// ./dengji-data). Its name is "dengji PATH", PATH the command's path in the
// table.
func newFlags(name string, dataDir *string) *flag.FlagSet {
	fs := flag.NewFlagSet("dengji "+name, flag.ContinueOnError)
	def := cmp.Or(os.Getenv("DENGJI_STORE"), os.Getenv("DENGJI_DATA"), "dengji-data")
	fs.StringVar(dataDir, "store", def,
		"数据目录或 postgres:// 数据库 URL / bbolt data directory or postgres:// database URL ($DENGJI_STORE)")
	fs.StringVar(dataDir, "data", def, "同 --store / the same as --store")
	return fs
}

// longHelp holds the paragraphs a command's help prints between its
// synopsis and its flags, by path.
var longHelp = map[string]string{}

// parse parses a command that takes flags only: a positional argument is a
// usage error.
func parse(fs *flag.FlagSet, args []string) error {
	_, err := parsePositional(fs, args)
	return err
}

// parsePositional parses flags anywhere among args and returns the
// positional arguments, which must be those want names: "NAME" one that
// must be given, "[NAME]" one that may be. -h or --help prints the
// command's help to stdout and returns errHelp; a bad flag, a missing or an
// extra argument is a usage error naming it.
func parsePositional(fs *flag.FlagSet, args []string, want ...string) ([]string, error) {
	fs.SetOutput(io.Discard) // help and errors are ours to print
	pos, err := parseArgs(fs, args)
	if errors.Is(err, errHelp) {
		printHelp(stdout, fs, want)
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, synopsis(fs, want))
	}
	required := 0
	for _, w := range want {
		if !strings.HasPrefix(w, "[") {
			required++
		}
	}
	switch {
	case len(pos) > len(want):
		return nil, fmt.Errorf("%w: 多余的参数 / unexpected argument %q\n%s", errUsage, pos[len(want)], synopsis(fs, want))
	case len(pos) < required:
		return nil, fmt.Errorf("%w: 缺少参数 / missing argument %s\n%s", errUsage, want[len(pos)], synopsis(fs, want))
	}
	return pos, nil
}

func synopsis(fs *flag.FlagSet, want []string) string {
	return strings.TrimSpace(fmt.Sprintf("用法 / usage: %s [flags] %s", fs.Name(), strings.Join(want, " ")))
}

func printHelp(w io.Writer, fs *flag.FlagSet, want []string) {
	path := strings.TrimPrefix(fs.Name(), "dengji ")
	fmt.Fprintln(w, synopsis(fs, want))
	if c, ok := commands[path]; ok {
		fmt.Fprintf(w, "\n%s\n", c.summary)
	}
	if h := longHelp[path]; h != "" {
		fmt.Fprintf(w, "\n%s", h)
	}
	fmt.Fprintln(w, "\n参数 / flags:")
	fs.VisitAll(func(f *flag.Flag) {
		typ, text := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  --%s %s\n      %s", f.Name, typ, text)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			fmt.Fprintf(w, "（默认 / default %q）", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

// parseArgs parses flags that may come before, between or after the
// positional arguments ("import registrations roll.csv --json" as well as
// "import registrations --json roll.csv") and returns the positional ones
// in order. "--" ends the flags; a lone "-" is positional. A bad flag is a
// usage error, -h or --help errHelp; the caller checks the positional
// arguments (parsePositional does).
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case len(a) > 1 && a[0] == '-':
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if strings.Contains(name, "=") {
				continue
			}
			if f := fs.Lookup(name); f != nil && !isBoolFlag(f) && i+1 < len(args) {
				i++
				flags = append(flags, args[i]) // the flag's value, whatever it looks like
			}
		default:
			pos = append(pos, a)
		}
	}
	if err := fs.Parse(flags); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, fmt.Errorf("%w: 参数有误 / bad flag: %v", errUsage, err)
	}
	return append(pos, fs.Args()...), nil
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// openStore opens the store --store names: PostgreSQL for a postgres://
// URL, else the embedded store in the directory, with an actionable error
// when a running server holds it.
func openStore(dir string) (store.Store, error) {
	if pgstore.IsURL(dir) {
		return pgstore.Open(context.Background(), dir)
	}
	st, err := boltstore.Open(dir)
	if errors.Is(err, store.ErrBusy) {
		return nil, fmt.Errorf("数据目录 %s 正被运行中的服务器使用，请先停止它或改用 API / data directory %s is in use by a running server: stop it or use the API", dir, dir)
	}
	return st, err
}

// requireData refuses a data directory that holds no store, for commands
// that only read one and must not create it. A database is taken as it is
// (pgstore.Open refuses one it cannot use).
func requireData(dir string) error {
	if pgstore.IsURL(dir) {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, boltstore.FileName)); err != nil {
		return fmt.Errorf("数据目录 %s 中没有数据 / no data in %s: %w", dir, dir, err)
	}
	return nil
}

// withStore opens the store, runs fn and closes the store.
func withStore(dir string, fn func(store.Store) error) error {
	st, err := openStore(dir)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(st)
}
