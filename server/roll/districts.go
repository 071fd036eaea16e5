package roll

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/audit"
	"github.com/dengji/dengji/server/store"
)

// District-row error codes.
const (
	CodeDistrictCode        = "district_code"         // the code is missing or repeated in the file
	CodeDistrictName        = "district_name"         // the name is missing
	CodeDistrictKind        = "district_kind"         // the kind is not village, community or work unit
	CodeDistrictCodeInvalid = "district_code_invalid" // the code does not begin with a known county (model.DistrictCodeValid)
	CodeDistrictParent      = "district_parent"       // the parent (town) code does not begin the district code
	CodeDistrictCounty      = "district_county"       // the county code is not the district code's first six digits
	CodeDistrictPopulation  = "district_population"   // the population is not a whole number
)

// District file columns, by position when the file has no header. Header
// cells are matched after cleanHeader (trimmed, lower case).
var districtHeaders = map[string]string{
	"code": "code", "district_code": "code", "代码": "code", "编码": "code", "选区代码": "code", "选区编码": "code",
	"name": "name", "district_name": "name", "名称": "name", "选区名称": "name", "选区": "name",
	"kind": "kind", "type": "kind", "district_kind": "kind", "类型": "kind", "类别": "kind", "选区类型": "kind",
	"parent": "town", "parent_code": "town", "town": "town", "town_code": "town",
	"上级": "town", "上级代码": "town", "乡镇": "town", "乡镇代码": "town", "街道": "town",
	"county": "county", "county_code": "county", "县": "county", "区县": "county", "县区": "county", "县代码": "county",
	"population": "population", "adult_population": "population", "人口": "population", "18岁以上人口": "population",
	"应登记人数": "population", "选民人口": "population",
}

var districtOrder = []string{"code", "name", "kind", "town", "county", "population"}

// districtKinds are the words offices write for a district's kind, beside
// each kind's code and labels (model.DistrictKinds).
var districtKinds = func() map[string]string {
	m := map[string]string{
		"村委会": "village", "村民委员会": "village", "行政村": "village", "村选区": "village",
		"居委会": "community", "居民委员会": "community", "社区居委会": "community", "社区选区": "community",
		"单位选区": "work_unit", "unit": "work_unit", "workunit": "work_unit", "work-unit": "work_unit",
		"work unit": "work_unit", "企事业单位": "work_unit",
	}
	for _, v := range model.DistrictKinds.Values {
		m[v.Code], m[v.Zh], m[strings.ToLower(v.En)] = v.Code, v.Code, v.Code
	}
	return m
}()

// districtKind accepts a kind's code, its Chinese or English label or a
// word offices write for it (村委会, 居委会, 单位选区, unit …), in any case.
func districtKind(s string) (string, bool) {
	k, ok := districtKinds[strings.ToLower(strings.TrimSpace(model.FoldWidthString(s)))]
	return k, ok
}

// districtCode folds how a code may be written (full-width digits, spaces,
// lower-case letters) into its canonical form.
func districtCode(s string) string {
	return strings.ToUpper(strings.ReplaceAll(model.FoldWidthString(s), " ", ""))
}

// ImportDistricts reads districts: code, name, kind (village, community,
// work_unit, 村, 社区, 单位 and the words offices use for them), then
// optionally the town's code (parent) and the county's, with Chinese or
// English headers (代码/名称/类型/上级 or code/name/kind/parent). The header
// row is optional. A code must begin with a known county's code
// (model.DistrictCodeValid) and with its parent's, if one is given; the
// county, if not given, is the code's first six digits, and the town, if
// not given, what a 12-digit statistical code says (model.TownOf).
//
// A district imported before is updated in place (its voter groups are
// kept); one that did not change is counted unchanged. Bad rows are
// reported; the good ones are written, all in one transaction, with the
// import's audit entry.
func ImportDistricts(ctx context.Context, st store.Store, r io.Reader, opt Options) (*Report, error) {
	opt.defaults()
	src, err := openRows(r, opt.Format)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	rep := newReport()
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
		return audit.Append(ctx, tx, audit.Import, "", importDetails("districts", formatOf(src), rep))
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
		if old.Name == d.Name && old.Kind == d.Kind && old.Town == d.Town && old.County == d.County &&
			old.Population == d.Population {
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
	d := model.District{Code: districtCode(v["code"]), Name: v["name"],
		Town: districtCode(v["town"]), County: districtCode(v["county"])}
	switch {
	case d.Code == "" || seen[d.Code]:
		bad("code", CodeDistrictCode)
	case !model.DistrictCodeValid(d.Code):
		bad("code", CodeDistrictCodeInvalid)
	default:
		if len(d.Town) == len(model.CountyOf(d.Code)) && d.County == "" {
			d.Town, d.County = "", d.Town // a parent that is the county
		}
		if d.Town != "" && (len(d.Town) >= len(d.Code) || !strings.HasPrefix(d.Code, d.Town)) {
			bad("town", CodeDistrictParent)
		}
		if d.County == "" {
			d.County = model.CountyOf(d.Code)
		} else if d.County != model.CountyOf(d.Code) {
			bad("county", CodeDistrictCounty)
		}
		if d.Town == "" {
			d.Town = model.TownOf(d.Code)
		}
	}
	if d.Name == "" {
		bad("name", CodeDistrictName)
	}
	kind, ok := districtKind(v["kind"])
	if !ok {
		bad("kind", CodeDistrictKind)
	}
	d.Kind = kind
	if p := strings.NewReplacer(",", "", "，", "", " ", "").Replace(model.FoldWidthString(v["population"])); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			bad("population", CodeDistrictPopulation)
		}
		d.Population = n
	}
	seen[d.Code] = true
	return d, errs
}
