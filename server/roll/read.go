package roll

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// Input formats.
const (
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"
)

// FormatOf guesses a file's format from its name: "xlsx" for .xlsx, "csv"
// for .csv and .txt, "" (detect from the content) otherwise.
func FormatOf(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".xlsx", ".xlsm":
		return FormatXLSX
	case ".csv", ".txt":
		return FormatCSV
	}
	return ""
}

// rows yields a spreadsheet's rows in order. Row numbers are the ones the
// spreadsheet shows: the first row is 1.
type rows interface {
	// Next returns the next row and its number, or io.EOF.
	Next() (row int, cells []string, err error)
	Close() error
}

// peekSize is how much of a CSV file decides its encoding. GB18030 text
// holding any Chinese character is almost never valid UTF-8, and an office
// export has Chinese in its header or first rows.
const peekSize = 256 << 10

var (
	bomUTF8  = []byte{0xEF, 0xBB, 0xBF}
	magicZip = []byte("PK\x03\x04")
)

// openRows reads r as format ("" detects it: XLSX files are zip archives).
func openRows(r io.Reader, format string) (rows, error) {
	br := bufio.NewReaderSize(r, peekSize)
	head, err := br.Peek(peekSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("roll: read: %w", err)
	}
	if format == "" {
		format = FormatCSV
		if bytes.HasPrefix(head, magicZip) {
			format = FormatXLSX
		}
	}
	switch format {
	case FormatXLSX:
		return openXLSX(br)
	case FormatCSV:
		return openCSV(br, head), nil
	}
	return nil, fmt.Errorf("%w: format %q: use csv or xlsx", ErrFormat, format)
}

// csvRows streams a CSV file: UTF-8 with or without a byte-order mark, or
// GB18030 (what Excel writes on a Chinese Windows).
type csvRows struct {
	r    *csv.Reader
	row  int
	next int // the line the next record starts on if no blank line precedes it
	utf8 bool
}

func openCSV(br *bufio.Reader, head []byte) *csvRows {
	var src io.Reader = br
	isUTF8 := validUTF8Prefix(head)
	if bytes.HasPrefix(head, bomUTF8) {
		br.Discard(len(bomUTF8))
	} else if !isUTF8 {
		src = transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder())
	}
	r := csv.NewReader(src)
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.ReuseRecord = true
	return &csvRows{r: r, next: 1, utf8: isUTF8}
}

// validUTF8Prefix is utf8.Valid, tolerating a rune the peek cut at the end.
func validUTF8Prefix(head []byte) bool {
	for i := 1; i < utf8.UTFMax && i <= len(head); i++ {
		if utf8.RuneStart(head[len(head)-i]) {
			if !utf8.FullRune(head[len(head)-i:]) {
				head = head[:len(head)-i]
			}
			break
		}
	}
	return utf8.Valid(head)
}

func (c *csvRows) Next() (int, []string, error) {
	rec, err := c.r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, nil, io.EOF
		}
		return 0, nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	// Excel shows a blank line as an empty row, which csv skips, and a
	// quoted cell spanning lines as one row.
	line, _ := c.r.FieldPos(0)
	c.row += 1 + max(0, line-c.next)
	c.next = line + 1
	for _, f := range rec {
		c.next += strings.Count(f, "\n")
	}
	if c.utf8 {
		for _, f := range rec {
			if !utf8.ValidString(f) {
				return 0, nil, fmt.Errorf("%w (row %d)", ErrEncoding, c.row)
			}
		}
	}
	return c.row, rec, nil
}

func (c *csvRows) Close() error { return nil }

// xlsxRows streams the first sheet of a workbook. The zip container needs
// random access, so the workbook is read whole; its sheet is then parsed
// row by row.
type xlsxRows struct {
	f    *excelize.File
	rows *excelize.Rows
	row  int
}

func openXLSX(r io.Reader) (*xlsxRows, error) {
	f, err := excelize.OpenReader(r)
	if err != nil {
		return nil, fmt.Errorf("%w: xlsx: %w", ErrFormat, err)
	}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		f.Close()
		return nil, fmt.Errorf("%w: xlsx has no sheet", ErrFormat)
	}
	rs, err := f.Rows(sheets[0])
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: xlsx: %w", ErrFormat, err)
	}
	return &xlsxRows{f: f, rows: rs}, nil
}

func (x *xlsxRows) Next() (int, []string, error) {
	if !x.rows.Next() {
		if err := x.rows.Error(); err != nil {
			return 0, nil, fmt.Errorf("%w: xlsx: %v", ErrFormat, err)
		}
		return 0, nil, io.EOF
	}
	x.row++
	// Raw values: a date cell comes back as its serial number, which
	// excelSerialDate turns into a date, not as a locale-formatted string.
	cells, err := x.rows.Columns(excelize.Options{RawCellValue: true})
	if err != nil {
		return 0, nil, fmt.Errorf("%w: xlsx row %d: %v", ErrFormat, x.row, err)
	}
	return x.row, cells, nil
}

func (x *xlsxRows) Close() error {
	x.rows.Close()
	return x.f.Close()
}
