package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/dengji/dengji/server/store"
)

func init() {
	commands["check"] = command{"检查已存储的记录是否符合记录规范 / check stored records against the record contract", runCheck}
	longHelp["check"] = checkUsage
}

const checkUsage = `检查数据目录中的每条记录（包括已删除的）是否符合记录规范：字段值为文本、
有效的UTF-8、无控制字符、不超过字段长度、无未知字段。本规范生效前写入的
记录可能不符合。按记录ID、选区、字段和代码列出问题，不显示字段值。
有问题时退出码为1。只读取，不修改任何记录。请在服务器停止时运行。

Checks every record in the data directory, deleted ones too, against the
record contract: string values, valid UTF-8, no control characters, within
the field's length, no unknown fields. Records written before the contract
may break it. Lists each problem by record ID, district, field and code,
never a value. Exits 1 if there is any. Reads only; run it while the server
is stopped.

`

// errContract is the error of a check that found records breaking the
// contract; the command exits 1.
var errContract = errors.New("有记录不符合记录规范 / records break the record contract")

func runCheck(ctx context.Context, args []string, out io.Writer) error {
	var dir string
	var asJSON bool
	fs := newFlags("check", &dir)
	fs.BoolVar(&asJSON, "json", false, "以JSON输出报告 / print the report as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := requireData(dir); err != nil {
		return err
	}
	var rep *store.ContractReport
	err := withStore(dir, func(st store.Store) error {
		var err error
		rep, err = store.CheckContract(ctx, st)
		return err
	})
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printContract(out, rep)
	}
	if rep.Bad > 0 {
		return fmt.Errorf("%w: %d / %d", errContract, rep.Bad, rep.Records)
	}
	return nil
}

func printContract(out io.Writer, rep *store.ContractReport) {
	if len(rep.Issues) > 0 {
		w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "记录 record\t选区 district\t字段 field\t代码 code\t说明 reason")
		for _, is := range rep.Issues {
			rec := plain(is.Record)
			if is.Deleted {
				rec += " (已删除 deleted)"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", rec, plain(is.District), plain(is.Field), is.Code, is.Message)
		}
		w.Flush()
	}
	fmt.Fprintf(out, "检查记录 %d 条，不符合规范 %d 条 / checked %d records, %d break the record contract\n",
		rep.Records, rep.Bad, rep.Records, rep.Bad)
}

// plain returns s as it is if it is printable ASCII without tabs, else
// quoted: record IDs and districts come from devices, and must not reach a
// terminal as escape sequences.
func plain(s string) string {
	if s == "" {
		return "-"
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' {
			return strconv.QuoteToASCII(s)
		}
	}
	return s
}
