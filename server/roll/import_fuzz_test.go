package roll_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/roll"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// The targets of this file build a CSV or XLSX file around fuzzed cells,
// import it into a real bbolt store and read the store back.

// fileOf writes rows as CSV, or as the first sheet of a workbook; ok is
// false if excelize will not write a cell.
func fileOf(t *testing.T, rows [][]string, xlsx bool) ([]byte, bool) {
	t.Helper()
	var buf bytes.Buffer
	if !xlsx {
		w := csv.NewWriter(&buf)
		w.WriteAll(rows)
		return buf.Bytes(), w.Error() == nil
	}
	x := excelize.NewFile()
	defer x.Close()
	for i, r := range rows {
		cells := make([]any, len(r))
		for j, c := range r {
			cells[j] = c
		}
		if err := x.SetSheetRow("Sheet1", "A"+strconv.Itoa(i+1), &cells); err != nil {
			return nil, false
		}
	}
	if err := x.Write(&buf); err != nil {
		return nil, false
	}
	return buf.Bytes(), true
}

// xmlSafe reports whether a cell goes through a workbook unchanged: valid
// UTF-8 without the characters XML 1.0 cannot hold.
func xmlSafe(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0xFFFE || r == 0xFFFF {
			return false
		}
	}
	return true
}

// regColumns are the columns FuzzImportRegistrationRows fills: the header
// as a county office writes it and the model key it stands for.
var regColumns = [][2]string{{"编号", "ref"}, {"姓名", "name"}, {"性别", "gender"}, {"出生日期", "birth_date"},
	{"身份证号", "id_number"}, {"户籍地址", "household_address"}, {"联系电话", "phone"}, {"选区", "district"},
	{"选民小组", "voter_group"}, {"四种人说明", "category_note"}}

// FuzzImportRegistrationRows imports a file of two rows, one of fuzzed
// cells and one valid, each with a reference of its own, twice. Never a
// panic; the counts add up (read = imported + unchanged + rejected); a
// rejected row leaves nothing in the store; a row reported imported reads
// back from the store, in its district, with its cells' normalized values
// and nothing else, valid by the model; the second import writes nothing.
func FuzzImportRegistrationRows(f *testing.F) {
	add := func(xlsx bool, cells ...string) {
		f.Add(cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6], cells[7], cells[8], xlsx)
	}
	good := []string{"李碧辉", "女", "1990年1月2日", idNumber(f, "430102", "19900102", 12, false), "长沙市芙蓉区",
		"13800138000", "430102001001", "第一组", ""}
	add(false, good...)
	add(true, good...)
	add(false, "ｗａｎｇ　雄", "M", "19700506", "43010219700506031x", " 长沙市\r\n芙蓉区 ", "0731-84567890", "水塘垸村", "", "一\n二")
	add(true, "王雄", "男", "25569", "", "", "", "430102001002", "", "")
	add(false, "", "", "", "", "", "", "430102001001", "", "")
	add(false, "黄\x00金", "x", "2020-01-01", "1", "\xff\xfe", "1", "430104001001", "\u202e", "\t")
	add(true, "a\"b,c\nd", "F", "1960-02-30", "430102196002300011", "=1+1", "+8613800138000", "43010200100１", "", "")
	add(false, strings.Repeat("名", 200), "", "1960-01-01", "", "", "", "430102001001", strings.Repeat("组", 65), "")
	st := openStore(f)
	withDistricts(f, st)
	n := 0
	f.Fuzz(func(t *testing.T, name, gender, birth, id, address, phone, district, group, note string, xlsx bool) {
		n++
		fuzzed := []string{fmt.Sprintf("fz-%d-a", n), name, gender, birth, id, address, phone, district, group, note}
		valid := []string{fmt.Sprintf("fz-%d-b", n), "梁峻青", "男", "1985-03-04", "", "", "", "430102001001", "", ""}
		header := make([]string, len(regColumns))
		for i, c := range regColumns {
			header[i] = c[0]
		}
		file, ok := fileOf(t, [][]string{header, fuzzed, valid}, xlsx)
		if !ok {
			return
		}
		for pass := range 2 {
			failed := map[int]bool{}
			rep, err := roll.ImportRegistrations(context.Background(), st, bytes.NewReader(file),
				roll.Options{OnError: func(e roll.RowError) { failed[e.Row] = true }})
			if err != nil {
				if !errors.Is(err, roll.ErrFormat) && !errors.Is(err, roll.ErrEncoding) {
					t.Fatalf("import: %v", err)
				}
				if recs := byRef(t, st, fuzzed[0], valid[0]); len(recs) != 0 {
					t.Fatalf("an unreadable file left records: %v", slices.Collect(maps.Keys(recs)))
				}
				return
			}
			if rep.Read != 2 || rep.Imported+rep.Unchanged+rep.Rejected != rep.Read || rep.Rejected != len(failed) ||
				rep.NeedsVerification > rep.Imported {
				t.Fatalf("pass %d: counts do not add up: %+v, rows with errors %v", pass, rep, failed)
			}
			if pass == 1 && rep.Imported != 0 {
				t.Fatalf("the second import wrote %d rows", rep.Imported)
			}
			recs := byRef(t, st, fuzzed[0], valid[0])
			for i, cells := range [][]string{fuzzed, valid} {
				rec, stored := recs[cells[0]]
				switch row := i + 2; {
				case failed[row] && stored:
					t.Fatalf("rejected row %d is in the store: %s", row, rec.Values())
				case !failed[row] && !stored:
					t.Fatalf("imported row %d is not in the store (%+v)", row, rep)
				case stored:
					checkImported(t, rec, cells, xlsx, utf8.Valid(file))
				}
			}
		}
	})
}

// byRef finds the stored registrations with the given refs.
func byRef(t *testing.T, st store.Store, refs ...string) map[string]*dsync.Record {
	t.Helper()
	out := map[string]*dsync.Record{}
	err := st.View(context.Background(), func(tx store.Tx) error {
		return tx.ForEachRecord(model.TypeRegistration, func(r *dsync.Record) error {
			var ref string
			json.Unmarshal(r.Fields["ref"].Value, &ref)
			if slices.Contains(refs, ref) {
				if out[ref] != nil {
					t.Errorf("ref %s stored twice", ref)
				}
				out[ref] = r.Clone()
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkImported compares a stored record with the row it came from: every
// non-empty cell, normalized as the model normalizes a field, and nothing
// else. Cells a file cannot carry as they are (a workbook's control
// characters, a CSV read as GB18030 because it is not UTF-8, a workbook's
// date serial) are checked to be valid only.
func checkImported(t *testing.T, rec *dsync.Record, cells []string, xlsx, utf8File bool) {
	t.Helper()
	values := rec.Values()
	if rep := model.Validate(rec.Type, rec.District, values, model.Rules{}); !rep.OK() {
		t.Fatalf("stored record %s breaks the model: %+v", values, rep.Errors)
	}
	if norm := model.Normalize(rec.Type, values); !maps.EqualFunc(norm, values, bytesEqual) {
		t.Fatalf("stored record %s is not normalized: %s", values, norm)
	}
	want := map[string]string{}
	exact := map[string]bool{}
	for i, c := range regColumns {
		key, cell := c[1], cells[i]
		if key == "district" {
			continue
		}
		v := strings.TrimSpace(cell)
		if v == "" {
			continue
		}
		n := model.Normalize(model.TypeRegistration, map[string]json.RawMessage{key: jsonOf(v)})
		json.Unmarshal(n[key], &v)
		want[key] = v
		exact[key] = (utf8File || xlsx) && (!xlsx || xmlSafe(cell)) &&
			!(xlsx && key == "birth_date" && len(strings.TrimSpace(cell)) <= 6 && isNumber(cell))
	}
	for k, raw := range values {
		var got string
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatalf("field %s holds %s, not a string", k, raw)
		}
		w, ok := want[k]
		switch {
		case !ok && (utf8File || xlsx):
			t.Fatalf("field %s = %q stored from no cell", k, got)
		case exact[k] && got != w:
			t.Fatalf("field %s: cell %q stored as %q, normalized it is %q", k, cells[slices.IndexFunc(regColumns,
				func(c [2]string) bool { return c[1] == k })], got, w)
		}
	}
	for k := range want {
		if _, ok := values[k]; !ok && exact[k] {
			t.Fatalf("the cell of %s (%q) was not stored", k, want[k])
		}
	}
	if d := strings.TrimSpace(cells[7]); (utf8File || xlsx) && strings.HasPrefix(d, "430") && !xlsx && d != rec.District &&
		model.FoldWidthString(d) != rec.District {
		t.Fatalf("district cell %q stored as %q", d, rec.District)
	}
}

func bytesEqual(a, b json.RawMessage) bool { return bytes.Equal(a, b) }

func jsonOf(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return err == nil
}

// FuzzImportDistricts imports a districts file: a valid row, then one of
// fuzzed cells, with or without a header. Never a panic; the counts add
// up; the store's districts change only by the rows imported, each read
// back with its normalized code, its trimmed name, a known kind and the
// county and town its code says.
func FuzzImportDistricts(f *testing.F) {
	for _, s := range [][5]string{
		{"430102001003", "新村", "village", "430102001", "430102"},
		{"４３０１０２００１００４", " 社区 ", "社区", "", ""},
		{"430102001001", "重复", "村", "", ""},
		{"4301029001", "供电所", "单位选区", "430102", ""},
		{"999999001001", "x", "village", "", ""},
		{"430102001005", "", "城堡", "430103", "430103"},
		{"code", "name", "kind", "parent", "county"},
		{"430102-a", "黄\x00金", "Work Unit", "", ""},
		{"", "", "", "", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], true, false)
		f.Add(s[0], s[1], s[2], s[3], s[4], false, true)
	}
	st := openStore(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, code, name, kind, town, county string, header, xlsx bool) {
		rows := [][]string{{"430102001001", "水塘垸村", "village", "", ""}, {code, name, kind, town, county}}
		if header {
			rows = slices.Insert(rows, 0, []string{"code", "name", "kind", "parent", "county"})
		}
		file, ok := fileOf(t, rows, xlsx)
		if !ok {
			return
		}
		before := districtsOf(t, st)
		failed := map[int]bool{}
		rep, err := roll.ImportDistricts(ctx, st, bytes.NewReader(file), roll.Options{OnError: func(e roll.RowError) { failed[e.Row] = true }})
		after := districtsOf(t, st)
		if err != nil {
			if !errors.Is(err, roll.ErrFormat) && !errors.Is(err, roll.ErrEncoding) {
				t.Fatalf("import: %v", err)
			}
			if !maps.EqualFunc(before, after, districtEqual) {
				t.Fatal("an unreadable file changed the districts")
			}
			return
		}
		blankRow := strings.TrimSpace(code+name+kind+town+county) == ""
		wantRead := 2
		if blankRow {
			wantRead = 1
		}
		if rep.Read != wantRead || rep.Imported+rep.Unchanged+rep.Rejected != rep.Read || rep.Rejected != len(failed) {
			t.Fatalf("counts do not add up: %+v, rows with errors %v", rep, failed)
		}
		fuzzRow := len(rows)
		changed := 0
		for c, d := range after {
			if b, ok := before[c]; !ok || !districtEqual(b, d) {
				changed++
				if c != "430102001001" && (failed[fuzzRow] || blankRow) {
					t.Fatalf("a rejected row changed district %s: %+v", c, d)
				}
			}
		}
		if len(after) < len(before) || changed > rep.Imported {
			t.Fatalf("%d districts changed, %d before, %d after, report %+v", changed, len(before), len(after), rep)
		}
		if failed[fuzzRow] || blankRow || (xlsx && !(xmlSafe(code) && xmlSafe(name))) || (!xlsx && !utf8.Valid(file)) {
			return
		}
		wantCode := strings.ToUpper(strings.ReplaceAll(model.FoldWidthString(strings.TrimSpace(code)), " ", ""))
		d, ok := after[wantCode]
		switch {
		case !ok:
			t.Fatalf("imported district %q (code cell %q) is not in the store", wantCode, code)
		case d.Name != strings.TrimSpace(name):
			t.Fatalf("district %s: name cell %q stored as %q", wantCode, name, d.Name)
		case !slices.ContainsFunc(model.DistrictKinds.Values, func(v model.EnumValue) bool { return v.Code == d.Kind }):
			t.Fatalf("district %s: kind %q", wantCode, d.Kind)
		case d.County != model.CountyOf(d.Code) || (d.Town != "" && !strings.HasPrefix(d.Code, d.Town)):
			t.Fatalf("district %s: county %q town %q", wantCode, d.County, d.Town)
		}
	})
}

func districtsOf(t *testing.T, st store.Store) map[string]model.District {
	t.Helper()
	out := map[string]model.District{}
	err := st.View(context.Background(), func(tx store.Tx) error {
		ds, err := tx.Districts()
		for _, d := range ds {
			out[d.Code] = d
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func districtEqual(a, b model.District) bool {
	return a.Code == b.Code && a.Name == b.Name && a.Kind == b.Kind && a.Town == b.Town && a.County == b.County &&
		slices.Equal(a.VoterGroups, b.VoterGroups)
}
