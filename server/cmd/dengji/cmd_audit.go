package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/dengji/dengji/server/audit"
	"github.com/dengji/dengji/server/store"
)

func init() {
	commands["audit verify"] = command{"检查审计日志的哈希链 / check the audit log's hash chain", runAudit}
	commands["audit list"] = command{"列出审计日志 / list the audit log", runAudit}
	longHelp["audit verify"] = auditUsage
	longHelp["audit list"] = auditUsage
}

const auditUsage = `审计日志记录每项决定和安全事件（登录失败、密码和账号变更、设备停用、冲突处理、
重复登记的决定、导入、未打码的导出），每条含前一条的哈希，连成一条链。
verify 从头检查这条链，指出第一条被改动、删除或插入的记录，有则退出码为1；
并打印末条的哈希：请另行记下，整条链被重写时可据此发现。list 按顺序列出记录。
日志中除记录ID外不含个人信息。只读取；请在服务器停止时运行，运行中请用
管理接口 GET /v1/admin/audit。

The audit log records every decision and security event (failed sign-ins,
password and account changes, device revocations, conflict resolutions,
duplicate decisions, imports, unmasked exports), each entry holding the hash
of the one before. verify checks the chain from the start and names the
first entry changed, removed or put in, exiting 1 if there is one; it prints
the last entry's hash: write it down elsewhere, and a rewrite of the whole
chain is caught too. list prints the entries in order. The log holds no
personal data beyond record IDs. Reads only; run it while the server is
stopped, or use GET /v1/admin/audit while it runs.

`

// errAuditBroken is the error of a verify that found the chain broken; the
// command exits 1.
var errAuditBroken = errors.New("审计日志被改动 / the audit log was tampered with")

func runAudit(ctx context.Context, args []string, out io.Writer) error {
	var dir string
	var asJSON bool
	var after uint64
	var limit int
	cmd := cmdPath(ctx)
	fs := newFlags(cmd, &dir)
	fs.BoolVar(&asJSON, "json", false, "以JSON输出 / print JSON")
	if cmd == "audit list" {
		fs.Uint64Var(&after, "after", 0, "从该序号之后列起 / list the entries after this sequence number")
		fs.IntVar(&limit, "limit", 100, "最多列出条数（0为全部）/ at most this many entries (0: all)")
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if limit < 0 {
		return fmt.Errorf("%w: --limit 不能为负数 / --limit must not be negative", errUsage)
	}
	if err := requireData(dir); err != nil {
		return err
	}
	return withStore(dir, func(st store.Store) error {
		if cmd == "audit verify" {
			return auditVerify(ctx, st, asJSON, out)
		}
		return auditList(ctx, st, after, limit, asJSON, out)
	})
}

func auditVerify(ctx context.Context, st store.Store, asJSON bool, out io.Writer) error {
	var res *audit.Result
	err := st.View(ctx, func(tx store.Tx) error {
		var err error
		res, err = audit.Verify(ctx, tx)
		return err
	})
	if err != nil {
		return err
	}
	if asJSON {
		if err := writeJSON(out, res); err != nil {
			return err
		}
	} else if res.Broken == nil {
		fmt.Fprintf(out, "审计日志完好：%d 条 / the audit log is intact: %d entries\n", res.Entries, res.Entries)
		if res.Head != "" {
			fmt.Fprintf(out, "末条哈希 / head: %s\n", res.Head)
		}
	}
	if b := res.Broken; b != nil {
		return fmt.Errorf("%w: 第 %d 条 / entry %d: %s (%s)", errAuditBroken, b.Seq, b.Seq, b.Message, b.Problem)
	}
	return nil
}

func auditList(ctx context.Context, st store.Store, after uint64, limit int, asJSON bool, out io.Writer) error {
	var es []audit.Entry
	var next uint64
	err := st.View(ctx, func(tx store.Tx) error {
		n := limit
		if n > 0 {
			n++ // one more tells whether there is a next page
		}
		var err error
		es, err = tx.AuditEntries(after, n)
		if limit > 0 && len(es) > limit {
			es = es[:limit]
			next = es[limit-1].Seq
		}
		return err
	})
	if err != nil {
		return err
	}
	if es == nil {
		es = []audit.Entry{}
	}
	if asJSON {
		return writeJSON(out, struct {
			Entries []audit.Entry `json:"entries"`
			Next    uint64        `json:"next,omitempty"`
		}{es, next})
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "序号 SEQ\t时间 TIME\t操作人 ACTOR\t设备 DEVICE\t事件 ACTION\t对象 TARGET\t详情 DETAILS")
	for _, e := range es {
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.Local().Format(time.DateTime), printable(e.Actor),
			printable(e.Device), printable(string(e.Action)), printable(e.Target), printable(string(e.Details)))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if next != 0 {
		fmt.Fprintf(out, "后面还有 / more follow: --after %d\n", next)
	}
	return nil
}

func writeJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printable is s as it is if every character prints (Chinese too; not a
// tab, a control or a bidirectional override), else quoted, so nothing
// stored reaches a terminal as an escape sequence; "-" if empty.
func printable(s string) string {
	if s == "" {
		return "-"
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
