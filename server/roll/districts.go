package roll

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/store"
)

// District-row error codes.
const (
	CodeDistrictCode = "district_code" // the code is missing or repeated in the file
	CodeDistrictName = "district_name" // the name is missing
	CodeDistrictKind = "district_kind" // the kind is not village, community or work unit
)

// District file columns, by position when the file has no header.
var districtHeaders = map[string]string{
	"code": "code", "代码": "code", "编码": "code", "选区代码": "code", "选区编码": "code",
	"name": "name", "名称": "name", "选区名称": "name", "选区": "name",
	"kind": "kind", "类型": "kind", "选区类型": "kind",
	"parent": "town", "town": "town", "上级": "town", "上级代码": "town", "乡镇": "town", "乡镇代码": "town", "街道": "town",
	"county": "county", "县": "county", "区县": "county", "县区": "county", "县代码": "county",
}

var districtOrder = []string{"code", "name", "kind", "town", "county"}

// districtKind accepts a kind's code or its Chinese or English label.
func districtKind(s string) (string, bool) {
	for _, v := range model.DistrictKinds.Values {
		if strings.EqualFold(s, v.Code) || s == v.Zh || strings.EqualFold(s, v.En) {
			return v.Code, true
		}
	}
	return "", false
}

// ImportDistricts reads districts: code, name, kind (village, community,
// work_unit or 村, 社区, 单位), then optionally the town's code (parent) and
// the county's. The header row is optional. A district imported before is
// updated in place (its voter groups are kept); one that did not change is
// counted unchanged. Bad rows are reported; the good ones are written, all
// in one transaction.
func ImportDistricts(ctx context.Context, st store.Store, r io.Reader, opt Options) (*Report, error) {
	opt.defaults()
	src, err := openRows(r, opt.Format)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	rep := &Report{Errors: []RowError{}}
	ds, err := readDistricts(src, rep, &opt)
	if err != nil {
		return rep, err
	}
	err = st.Update(ctx, func(tx store.Tx) error {
		imported, unchanged := 0, 0
		for i := range ds {
			changed, err := putDistrict(tx, &ds[i])
			if err != nil {
				return err
			}
			if changed {
				imported++
			} else {
				unchanged++
			}
		}
		rep.Imported, rep.Unchanged = imported, unchanged
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("roll: write districts: %w", err)
	}
	if opt.Progress != nil {
		opt.Progress(rep.Read)
	}
	return rep, nil
}

func putDistrict(tx store.Tx, d *model.District) (bool, error) {
	old, err := tx.District(d.Code)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return false, err
	default:
		d.VoterGroups = old.VoterGroups
		if old.Name == d.Name && old.Kind == d.Kind && old.Town == d.Town && old.County == d.County {
			return false, nil
		}
	}
	return true, tx.PutDistrict(d)
}

func readDistricts(src rows, rep *Report, opt *Options) ([]model.District, error) {
	var out []model.District
	seen := map[string]bool{}
	cols := districtOrder
	headers := districtOrder
	first := true
	for {
		row, cells, err := src.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if blank(cells) {
			continue
		}
		if first {
			first = false
			if c, h, ok := districtHeader(cells); ok {
				cols, headers = c, h
				continue
			}
		}
		rep.Read++
		d, errs := districtRow(row, cells, cols, headers, seen)
		if len(errs) > 0 {
			rep.Rejected++
			for _, e := range errs {
				rep.addError(opt, e)
			}
			continue
		}
		out = append(out, d)
	}
}

// districtHeader recognizes a header row: one whose kind column is not a
// kind and that names at least the code column.
func districtHeader(cells []string) (cols, headers []string, ok bool) {
	cols = make([]string, len(cells))
	headers = make([]string, len(cells))
	for i, c := range cells {
		cols[i] = districtHeaders[cleanHeader(c)]
		headers[i] = strings.TrimSpace(c)
	}
	if !slices.Contains(cols, "code") {
		return nil, nil, false
	}
	return cols, headers, true
}

func districtRow(row int, cells, cols, headers []string, seen map[string]bool) (model.District, []RowError) {
	v := map[string]string{}
	col := map[string]string{}
	for i, c := range cells {
		if i < len(cols) && cols[i] != "" {
			v[cols[i]] = strings.TrimSpace(c)
			col[cols[i]] = headers[i]
		}
	}
	var errs []RowError
	bad := func(key, code string) {
		errs = append(errs, RowError{Row: row, Column: col[key], Code: code, Reason: importMessages[code]})
	}
	d := model.District{Code: v["code"], Name: v["name"], Town: v["town"], County: v["county"]}
	if d.Code == "" || seen[d.Code] {
		bad("code", CodeDistrictCode)
	}
	if d.Name == "" {
		bad("name", CodeDistrictName)
	}
	kind, ok := districtKind(v["kind"])
	if !ok {
		bad("kind", CodeDistrictKind)
	}
	d.Kind = kind
	seen[d.Code] = true
	return d, errs
}
