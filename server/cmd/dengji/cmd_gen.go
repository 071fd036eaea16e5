package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/dengji/dengji/server/dedup/gen"
)

func init() {
	commands["gen"] = command{"生成带重复登记的演示名册 / generate a demo roll with planted duplicates", runGen}
}

// runGen writes FILE.csv (registrations), FILE.districts.csv (the districts
// of the roll's counties, to import first) and FILE.truth.csv (ref → person:
// rows of one person are duplicates of each other; then how each was
// planted).
func runGen(_ context.Context, args []string, out io.Writer) error {
	var dir, outFile string
	var records int
	var seed uint64
	fs := newFlags("gen", &dir)
	fs.IntVar(&records, "records", 1000, "记录数 / number of registrations")
	fs.Uint64Var(&seed, "seed", 1, "种子：同一种子得到同一名册 / seed: same seed, same roll")
	fs.StringVar(&outFile, "out", "", "登记 CSV 文件 / registrations CSV file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if outFile == "" || records < 1 {
		return fmt.Errorf("%w: 须给出 --out FILE，--records 须为正数 / --out FILE is required and --records must be positive", errUsage)
	}
	roll := gen.NewRoll(gen.DefaultConfig(records, seed))
	files := gen.FilesFor(outFile)
	if err := roll.WriteFiles(files); err != nil {
		return err
	}
	st := roll.Stats()
	fmt.Fprintf(out, "已生成 / generated %d 条登记 registrations（%d 人 persons，%d 对重复 duplicate pairs）: %s\n"+
		"选区 / districts: %d（县 / counties %s）: %s\n真值 / truth: %s\n"+
		"试用 / try: dengji import districts %s && dengji import registrations %s && dengji dedup\n",
		st.Records, st.Persons, st.DupPairs, files.Registrations, st.Districts, strings.Join(roll.Counties, ","),
		files.Districts, files.Truth, files.Districts, files.Registrations)
	return nil
}
