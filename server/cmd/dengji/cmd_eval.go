package main

import (
	"context"
	"fmt"
	"io"

	"github.com/dengji/dengji/server/dedup/eval"
)

// runDedupScore is `dengji dedup score`: an exported duplicates CSV scored
// against a generated roll's truth.
func runDedupScore(_ context.Context, args []string, out io.Writer) error {
	var dir, truth string
	var rows, imported int
	var asJSON bool
	fs := newFlags("dedup score", &dir)
	fs.StringVar(&truth, "truth", "", "真值文件（dengji gen 写的 FILE.truth.csv）/ truth file (FILE.truth.csv from dengji gen)")
	fs.IntVar(&rows, "rows", 0, "名册行数（默认真值文件的行数）/ rows of the roll (default: the truth file's)")
	fs.IntVar(&imported, "imported", -1, "导入的行数（dengji import registrations 报告的）/ rows imported (as the import reported)")
	fs.BoolVar(&asJSON, "json", false, "以 JSON 输出 / print JSON")
	pos, err := parsePositional(fs, args, "DUPLICATES.csv")
	if err != nil {
		return err
	}
	if truth == "" || rows < 0 {
		return fmt.Errorf("%w: 须给出 --truth FILE，--rows 不能为负 / --truth FILE is required and --rows must not be negative", errUsage)
	}
	name := pos[0]
	s, err := eval.ScoreFiles(truth, name, eval.ScoreOptions{Rows: rows, Imported: imported})
	if err != nil {
		return err
	}
	if asJSON {
		return eval.WriteJSON(out, s)
	}
	eval.PrintScores(out, s)
	eval.PrintBreakdown(out, s)
	return nil
}

// runProductEval is `dengji dedup eval --product`: a generated roll through
// gen, both imports, the full check, the export and the score, in a
// temporary folder.
func runProductEval(records int, seed uint64, asJSON bool, out io.Writer) error {
	fmt.Fprintf(dedupStderr, "生成并导入 %d 行 … / generating and importing %d rows …\n", records, records)
	res, err := eval.Product(context.Background(), eval.ProductConfig{Records: records, Seed: seed})
	if err != nil {
		return err
	}
	if asJSON {
		return eval.WriteJSON(out, res)
	}
	eval.PrintProduct(out, res)
	return nil
}
