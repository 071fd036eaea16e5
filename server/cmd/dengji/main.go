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
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore"
	"github.com/dengji/dengji/server/store/pgstore"
)

// command is one subcommand: its one-line help and what it runs.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, out io.Writer) error
}

// commands is filled by each subcommand's file in its init.
var commands = map[string]command{}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
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
	switch {
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

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(out)
		return nil
	}
	cmd, ok := commands[args[0]]
	if !ok {
		usage(os.Stderr)
		return fmt.Errorf("%w: 未知命令 / unknown command %q", errUsage, args[0])
	}
	if err := cmd.run(ctx, args[1:], out); !errors.Is(err, errHelp) {
		return err
	}
	return nil
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "dengji — 选民登记同步服务 / voter registration sync server\n\n用法 / usage: dengji COMMAND [flags]\n\n命令 / commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\n每个命令都接受 --store DIR|postgres://URL（数据目录或 PostgreSQL 数据库，--data 同义）/ every command takes --store DIR|postgres://URL, a bbolt data directory or a PostgreSQL database (--data is the same; default $DENGJI_STORE, $DENGJI_DATA or ./dengji-data)")
}

// newFlags makes a subcommand's flag set with the common store flag:
// --store, or --data as before, both naming a bbolt data directory or a
// postgres:// URL (default $DENGJI_STORE, else $DENGJI_DATA, else
// ./dengji-data).
func newFlags(name string, dataDir *string) *flag.FlagSet {
	fs := flag.NewFlagSet("dengji "+name, flag.ContinueOnError)
	def := cmp.Or(os.Getenv("DENGJI_STORE"), os.Getenv("DENGJI_DATA"), "dengji-data")
	fs.StringVar(dataDir, "store", def,
		"数据目录或 postgres:// 数据库 URL / bbolt data directory or postgres:// database URL ($DENGJI_STORE)")
	fs.StringVar(dataDir, "data", def, "同 --store / the same as --store")
	return fs
}

// parse parses flags, turning a bad flag into a usage error.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

// parseNamed parses flags around one positional name, which may come first
// ("user add li --role registrar") or last ("user add --role registrar li").
func parseNamed(fs *flag.FlagSet, args []string) (string, error) {
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := parse(fs, args); err != nil {
		return "", err
	}
	if name == "" {
		name = fs.Arg(0)
	}
	return name, nil
}

// parseArgs parses flags that may come before, between or after the
// positional arguments ("import registrations roll.csv --json" as well as
// "import registrations --json roll.csv") and returns the positional ones
// in order. "--" ends the flags; a lone "-" is positional. A bad flag is a
// usage error; the caller checks how many positional arguments it got.
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
	if err := parse(fs, flags); err != nil {
		return nil, err
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
