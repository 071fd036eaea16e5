package roll

import (
	"archive/zip"
	"context"
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"

	"github.com/dengji/dengji/server/audit"
	"github.com/dengji/dengji/server/store"
)

// FormatZIP is a ZIP of one CSV per district.
const FormatZIP = "zip"

// AreaOptions choose what ExportArea writes: the rolls of several
// districts (a town's or a county's) in one file.
type AreaOptions struct {
	Area      string   // the town's or county's code, for the audit log
	Districts []string // in order
	Format    string   // FormatXLSX (a sheet per district) or FormatZIP (a CSV per district)
	Posted    bool
	English   bool
}

// ExportArea writes the roll of each district of an area, as ExportRoll
// writes one: one XLSX with a sheet per district (named by its code), or a
// ZIP of CSV files named CODE.csv. The office version is recorded in the
// audit log once, with the area and the count. It returns the voters written.
func ExportArea(ctx context.Context, st store.Store, w io.Writer, opt AreaOptions) (int, error) {
	if opt.Format != FormatXLSX && opt.Format != FormatZIP {
		return 0, fmt.Errorf("%w: format %q: use xlsx or zip", ErrFormat, opt.Format)
	}
	rolls := make([][]Entry, len(opt.Districts))
	total := 0
	for i, d := range opt.Districts {
		var err error
		if rolls[i], err = Roll(ctx, st, d, opt.Posted); err != nil {
			return 0, err
		}
		total += len(rolls[i])
	}
	if !opt.Posted {
		if err := recordExport(ctx, st, "roll", opt.Area, audit.D{"format": opt.Format, "count": total,
			"districts": len(opt.Districts)}); err != nil {
			return 0, err
		}
	}
	ropt := RollOptions{Posted: opt.Posted, English: opt.English}
	if opt.Format == FormatZIP {
		return total, writeZIP(w, opt.Districts, rolls, ropt)
	}
	return total, writeWorkbook(w, opt.Districts, rolls, ropt)
}

func writeZIP(w io.Writer, districts []string, rolls [][]Entry, opt RollOptions) error {
	zw := zip.NewWriter(w)
	for i, d := range districts {
		f, err := zw.Create(d + ".csv")
		if err != nil {
			return err
		}
		header, lines := rollTable(rolls[i], opt)
		if err := writeCSV(f, header, lines); err != nil {
			return err
		}
	}
	return zw.Close()
}

func writeWorkbook(w io.Writer, districts []string, rolls [][]Entry, opt RollOptions) error {
	f := excelize.NewFile()
	defer f.Close()
	for i, d := range districts {
		sheet := d
		if len(sheet) > 31 { // Excel's limit on a sheet's name
			sheet = sheet[len(sheet)-31:]
		}
		if i == 0 {
			if err := f.SetSheetName("Sheet1", sheet); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(sheet); err != nil {
			return err
		}
		header, lines := rollTable(rolls[i], opt)
		if err := writeSheet(f, sheet, header, lines); err != nil {
			return err
		}
	}
	_, err := f.WriteTo(w)
	return err
}
