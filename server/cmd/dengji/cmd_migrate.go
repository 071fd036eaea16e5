package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/dengji/dengji/server/store"
)

func init() {
	commands["migrate"] = command{"在 bbolt 与 PostgreSQL 之间复制数据 / copy a store between bbolt and PostgreSQL", runMigrate}
	longHelp["migrate"] = migrateUsage
}

const migrateUsage = `dengji migrate --from DIR|postgres://URL --to DIR|postgres://URL [--batch N] [--json]

把一个县的全部数据（记录、变更日志、冲突、账号、设备、会话、设置、选区、
重复案例、给登记员的提示、审计日志）从一个存储复制到另一个空的存储：bbolt 数据目录或
PostgreSQL 数据库，两个方向都可以。逐字节复制，复制后按种类比对条数和
SHA-256 内容哈希，不一致时退出码为1。请在服务器停止时运行（PostgreSQL
源可在运行中读取一个快照）。目标不为空时拒绝。

Copies a county's whole store (records, change log, conflicts, accounts,
devices, sessions, settings, districts, duplicate cases, notices to
registrars, the audit log) into
an empty one: a bbolt data directory or a PostgreSQL database, either way.
Values are copied byte for byte; afterwards each kind's entry count and
SHA-256 content hash are compared, exit 1 if any differs. Run it while the
servers are stopped (a PostgreSQL source is read on one snapshot). A
destination that holds data is refused.

`

func runMigrate(ctx context.Context, args []string, out io.Writer) error {
	var from, to string
	var batch int
	var asJSON bool
	fs := flag.NewFlagSet("dengji migrate", flag.ContinueOnError)
	fs.StringVar(&from, "from", "", "源：数据目录或 postgres:// URL / source: data directory or postgres:// URL")
	fs.StringVar(&to, "to", "", "目标（须为空）/ destination (must be empty)")
	fs.IntVar(&batch, "batch", 10000, "每个事务的条数 / entries per transaction")
	fs.BoolVar(&asJSON, "json", false, "以JSON输出各种类的条数和哈希 / print counts and hashes as JSON")
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, migrateUsage)
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 || from == "" || to == "" || from == to || batch < 1 {
		return fmt.Errorf("%w: dengji migrate --from DIR|URL --to DIR|URL [--batch N] [--json]", errUsage)
	}
	if err := requireData(from); err != nil {
		return err
	}
	var digests map[string]store.KindDigest
	err := withStore(from, func(src store.Store) error {
		return withStore(to, func(dst store.Store) error {
			s, ok1 := src.(store.Dumper)
			d, ok2 := dst.(store.Dumper)
			if !ok1 || !ok2 {
				return errors.New("migrate: a store that cannot be dumped")
			}
			var err error
			digests, err = store.Copy(ctx, s, d, batch)
			if errors.Is(err, store.ErrNotEmpty) {
				return errors.New("目标存储中已有数据 / the destination already holds data")
			}
			return err
		})
	})
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(out).Encode(digests)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "种类 kind\t条数 entries\tSHA-256")
	for _, k := range store.DumpKinds {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", k, digests[k].Entries, digests[k].SHA256)
	}
	tw.Flush()
	fmt.Fprintln(out, "复制完成，条数和内容哈希一致 / copied: counts and content hashes agree")
	return nil
}
