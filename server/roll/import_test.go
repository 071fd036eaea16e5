package roll_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/model/idcard"
	"github.com/dengji/dengji/model/lunar"
	"github.com/dengji/dengji/server/roll"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore/bolttest"
	dsync "github.com/dengji/dengji/sync"
)

func openStore(t testing.TB) store.Store { return bolttest.Open(t) }

// idNumber makes a valid ID number: region, birth YYYYMMDD, a sequence
// whose parity gives the gender.
func idNumber(t testing.TB, region, birth string, seq int, male bool) string {
	t.Helper()
	if male != (seq%2 == 1) {
		seq++
	}
	id := idcard.Compose(region, birth, seq%1000)
	if id == "" {
		t.Fatalf("bad ID parts %s %s %d", region, birth, seq)
	}
	return id
}

const districtsCSV = `code,name,kind,parent,county
430102001001,水塘垸村,village,430102001,430102
430102001002,黄花社区,社区,430102001,430102
430102002001,供电所,单位,430102002,430102
`

func withDistricts(t testing.TB, st store.Store) {
	t.Helper()
	rep, err := roll.ImportDistricts(context.Background(), st, strings.NewReader(districtsCSV), roll.Options{})
	if err != nil || rep.Imported != 3 || rep.Rejected != 0 {
		t.Fatalf("import districts: %+v %v", rep, err)
	}
}

func feedLen(t testing.TB, st store.Store) uint64 {
	t.Helper()
	var high uint64
	st.View(context.Background(), func(tx store.Tx) error {
		high, _ = tx.HighSeq()
		return nil
	})
	return high
}

// registrations reads every registration in the store, keyed by name.
func registrations(t testing.TB, st store.Store) map[string]*dsync.Record {
	t.Helper()
	out := map[string]*dsync.Record{}
	err := st.View(context.Background(), func(tx store.Tx) error {
		return tx.ForEachRecord(model.TypeRegistration, func(r *dsync.Record) error {
			reg, err := model.RegistrationFromFields(r.Values())
			out[reg.Name] = r
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func chineseCSV(t testing.TB) string {
	return "姓名,性别,出生日期,身份证号,户籍地址,现住址,联系电话,选区,选民小组,编号\n" +
		"李碧辉,女,1990年1月2日," + idNumber(t, "430102", "19900102", 12, false) + ",长沙市芙蓉区,长沙市芙蓉区,13800138000,430102001001,第一组,A-1\n" +
		"梁峻青,男,1985/3/4," + idNumber(t, "430102", "19850304", 21, true) + ",,,0731-84567890,430102001001,第二组,A-2\n" +
		"王雄,男,19700506," + idNumber(t, "110105", "19700506", 33, true) + ",,,,430102001002,第一组,\n"
}

func TestImportDistricts(t *testing.T) {
	st := openStore(t)
	withDistricts(t, st)
	t.Run("Unchanged", func(t *testing.T) {
		rep, err := roll.ImportDistricts(context.Background(), st, strings.NewReader(districtsCSV), roll.Options{})
		if err != nil || rep.Unchanged != 3 || rep.Imported != 0 {
			t.Fatalf("%+v %v", rep, err)
		}
	})
	t.Run("ErrRows", func(t *testing.T) {
		rep, err := roll.ImportDistricts(context.Background(), st,
			strings.NewReader("430104001001,新村,hamlet\n,无名,村\n430103001008,八一村,村,430103001\n"), roll.Options{})
		if err != nil || rep.Imported != 1 || rep.Rejected != 2 || len(rep.Errors) != 2 {
			t.Fatalf("%+v %v", rep, err)
		}
		if e := rep.Errors[0]; e.Row != 1 || e.Code != roll.CodeDistrictKind || e.Column != "kind" {
			t.Fatalf("%+v", e)
		}
	})
}

func TestImportRegistrations_ChineseHeaders(t *testing.T) {
	st := openStore(t)
	withDistricts(t, st)
	rep, err := roll.ImportRegistrations(context.Background(), st, strings.NewReader(chineseCSV(t)), roll.Options{})
	if err != nil || rep.Read != 3 || rep.Imported != 3 || rep.Rejected != 0 {
		t.Fatalf("%+v %v", rep, err)
	}
	recs := registrations(t, st)
	r := recs["李碧辉"]
	if r == nil || r.District != "430102001001" {
		t.Fatalf("record: %+v", r)
	}
	reg, _ := model.RegistrationFromFields(r.Values())
	if reg.BirthDate != "1990-01-02" || reg.Gender != "F" || reg.Ref != "A-1" || reg.Phone != "13800138000" {
		t.Fatalf("fields: %+v", reg)
	}
	if w := r.Writers[r.Fields["name"].Version]; w.Device != store.ServerDevice || w.Author != roll.DefaultAuthor {
		t.Fatalf("writer: %+v", w)
	}
	if reg, _ := model.RegistrationFromFields(recs["梁峻青"].Values()); reg.BirthDate != "1985-03-04" || reg.Phone != "0731-84567890" {
		t.Fatalf("fields: %+v", reg)
	}

	t.Run("SecondImportChangesNothing", func(t *testing.T) {
		before := feedLen(t, st)
		rep, err := roll.ImportRegistrations(context.Background(), st, strings.NewReader(chineseCSV(t)), roll.Options{})
		if err != nil || rep.Read != 3 || rep.Imported != 0 || rep.Unchanged != 3 {
			t.Fatalf("%+v %v", rep, err)
		}
		if after := feedLen(t, st); after != before {
			t.Fatalf("change feed grew from %d to %d", before, after)
		}
		if n := len(registrations(t, st)); n != 3 {
			t.Fatalf("%d records", n)
		}
	})
}

func TestImportRegistrations_EnglishHeadersAndBadRows(t *testing.T) {
	st := openStore(t)
	withDistricts(t, st)
	good := idNumber(t, "110105", "19800101", 1, true)
	csv := "\ufeffname,gender,birth_date,id_number,district,voter_group,channel\n" +
		"张三,M,1980-01-01," + good + ",430102002001,1,上门登记\n" +
		"李四,F,1980-01-01," + good[:17] + "0,430102002001,1,\n" + // row 3: check digit
		"王五,M,1980-01-01," + idNumber(t, "110105", "19800101", 3, true) + ",430102009099,1,\n" + // row 4: district
		"\n" +
		"赵六,F,1980-01-01," + idNumber(t, "110105", "19800101", 5, true) + ",430102002001,1,\n" // row 6 (5 is blank): gender
	var seenErr, seenWarn []roll.RowError
	rep, err := roll.ImportRegistrations(context.Background(), st, strings.NewReader(csv),
		roll.Options{Author: "admin", OnError: func(e roll.RowError) { seenErr = append(seenErr, e) },
			OnWarning: func(e roll.RowError) { seenWarn = append(seenWarn, e) }})
	if err != nil || rep.Read != 4 || rep.Imported != 3 || rep.Rejected != 1 || rep.NeedsVerification != 2 {
		t.Fatalf("%+v %v", rep, err)
	}
	check := func(kind string, got, seen []roll.RowError, want []roll.RowError) {
		t.Helper()
		if len(got) != len(want) || len(seen) != len(want) {
			t.Fatalf("%s: %+v (seen %+v)", kind, got, seen)
		}
		for i, w := range want {
			e := got[i]
			if e.Row != w.Row || e.Column != w.Column || e.Code != w.Code || e.Reason == "" {
				t.Errorf("%s %d: got %+v, want %+v", kind, i, e, w)
			}
		}
	}
	check("errors", rep.Errors, seenErr, []roll.RowError{
		{Row: 4, Column: "district", Code: roll.CodeDistrictUnknown},
	})
	check("warnings", rep.Warnings, seenWarn, []roll.RowError{
		{Row: 3, Column: "id_number", Code: model.CodeIDChecksum},
		{Row: 6, Column: "gender", Code: model.CodeGenderMismatch},
	})
	reg, _ := model.RegistrationFromFields(registrations(t, st)["张三"].Values())
	if reg.Channel != "door" {
		t.Fatalf("channel %q", reg.Channel)
	}
}

func TestImportRegistrations_UnderAgeOnElectionDay(t *testing.T) {
	st := openStore(t)
	withDistricts(t, st)
	st.Update(context.Background(), func(tx store.Tx) error {
		return tx.PutSetting(roll.SettingElectionDay, []byte("2026-05-01"))
	})
	csv := "姓名,性别,出生日期,身份证号,选区\n" +
		"小明,男,2008-05-02," + idNumber(t, "430102", "20080502", 1, true) + ",430102001001\n"
	rep, err := roll.ImportRegistrations(context.Background(), st, strings.NewReader(csv), roll.Options{})
	if err != nil || rep.Rejected != 1 || rep.Errors[0].Code != model.CodeUnderAge || rep.Errors[0].Column != "出生日期" {
		t.Fatalf("%+v %v", rep, err)
	}
}

func TestImportRegistrations_GB18030(t *testing.T) {
	st := openStore(t)
	withDistricts(t, st)
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(chineseCSV(t))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := roll.ImportRegistrations(context.Background(), st, strings.NewReader(gb), roll.Options{})
	if err != nil || rep.Imported != 3 || rep.Rejected != 0 {
		t.Fatalf("%+v %v", rep, err)
	}
	if registrations(t, st)["李碧辉"] == nil {
		t.Fatal("name not decoded from GB18030")
	}
}

func TestImportRegistrations_XLSX(t *testing.T) {
	st := openStore(t)
	withDistricts(t, st)
	f := excelize.NewFile()
	rows := [][]any{
		{"姓名", "性别", "出生日期", "身份证号", "选区", "选民小组"},
		{"李碧辉", "女", "1990-01-02", idNumber(t, "430102", "19900102", 12, false), "430102001001", "第一组"},
		{"梁峻青", "男", nil, idNumber(t, "430102", "19850304", 21, true), "水塘垸村", "第二组"},
		{"坏行", "男", "1985-03-04", "123", "430102001001", "第二组"},
	}
	for i, r := range rows {
		f.SetSheetRow("Sheet1", fmt.Sprintf("A%d", i+1), &r)
	}
	// A real date cell: Excel stores the serial number 31110 (1985-03-04).
	f.SetCellValue("Sheet1", "C3", 31110)
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	rep, err := roll.ImportRegistrations(context.Background(), st, &buf, roll.Options{})
	if err != nil || rep.Read != 3 || rep.Imported != 3 || rep.Rejected != 0 || rep.NeedsVerification != 1 {
		t.Fatalf("%+v %v", rep, err)
	}
	if e := rep.Warnings[0]; e.Row != 4 || e.Column != "身份证号" || e.Code != model.CodeIDLength {
		t.Fatalf("%+v", e)
	}
	reg, _ := model.RegistrationFromFields(registrations(t, st)["梁峻青"].Values())
	if reg.BirthDate != "1985-03-04" || registrations(t, st)["梁峻青"].District != "430102001001" {
		t.Fatalf("%+v", reg)
	}
}

func TestImportRegistrations_ErrHeader(t *testing.T) {
	st := openStore(t)
	_, err := roll.ImportRegistrations(context.Background(), st, strings.NewReader("a,b\n1,2\n"), roll.Options{})
	if err == nil || !strings.Contains(err.Error(), "身份证号") {
		t.Fatalf("err = %v", err)
	}
}

// idEndingX makes a valid ID number whose check character is X.
func idEndingX(t testing.TB, region, birth string, male bool) string {
	t.Helper()
	for seq := 1; seq < 1000; seq++ {
		id := idcard.Compose(region, birth, seq)
		if strings.HasSuffix(id, "X") && (seq%2 == 1) == male {
			return id
		}
	}
	t.Fatal("no ID ending in X")
	return ""
}

// fullWidth writes the digits and letters of s as full-width characters.
func fullWidth(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '!' && r <= '~' {
			r += 0xFF01 - '!'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// TestImportRegistrations_NeedsVerification imports a roll as offices keep
// them: IDs missing, mistyped, disagreeing with the stated birth date, a
// lunar birthday, cells written every which way. Every row a person could
// fix later goes in with its warnings; only rows nobody could act on are
// refused.
func TestImportRegistrations_NeedsVerification(t *testing.T) {
	st := openStore(t)
	withDistricts(t, st)
	good := idNumber(t, "430102", "19750310", 41, true)
	bad := good[:17] + string("0123456789X"[(strings.IndexByte("0123456789X", good[17])+1)%11])
	sy, sm, sd, ok := lunar.ToSolar(1960, 8, 15) // born on the 15th of the 8th lunar month
	if !ok {
		t.Fatal("lunar date")
	}
	lunarID := idNumber(t, "430102", fmt.Sprintf("%04d%02d%02d", sy, sm, sd), 43, false)
	mismatch := idNumber(t, "430102", "19700101", 45, true)
	withX := idEndingX(t, "430102", "19820202", false)
	spaced := idNumber(t, "430102", "19830303", 47, true)
	csv := "姓名,性别,出生日期,身份证号,选区,选民小组\n" +
		"甲一,男,1950-01-01,,430102001001,1\n" + // 2: no ID
		"甲二,女,1951/2/3,,430102001001,1\n" + // 3: no ID, another person
		"乙,男,1975-03-10," + bad + ",430102001001,1\n" + // 4: check digit
		"丙,女,1960-08-15," + lunarID + ",430102001001,2\n" + // 5: lunar birthday
		"丁,男,1971-01-01," + mismatch + ",430102001002,1\n" + // 6: birth date disagrees
		"戊,2,1982年2月2日," + strings.ToLower(withX) + ",430102001002,1\n" + // 7: lower-case x, gender 2
		"己,男性,19830303," + fullWidth(spaced[:6]) + " " + spaced[6:14] + " " + spaced[14:] + ",水塘垸村,1\n" + // 8: full-width, spaces
		",男,1950-01-01," + idNumber(t, "430102", "19500101", 51, true) + ",430102001001,1\n" + // 9: no name
		"庚,男,,,430102001001,1\n" + // 10: neither ID nor birth date
		"辛,1,1990-01-02," + idNumber(t, "430102", "19900102", 53, true) + ",430102001001,1\n" // 11: verified
	rep, err := roll.ImportRegistrations(context.Background(), st, strings.NewReader(csv), roll.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Read != 10 || rep.Imported != 8 || rep.Rejected != 2 || rep.NeedsVerification != 5 || rep.Unchanged != 0 {
		t.Fatalf("report %+v", rep)
	}
	type rc struct {
		row          int
		column, code string
	}
	var errs, warns []rc
	for _, e := range rep.Errors {
		errs = append(errs, rc{e.Row, e.Column, e.Code})
	}
	for _, w := range rep.Warnings {
		warns = append(warns, rc{w.Row, w.Column, w.Code})
	}
	wantErrs := []rc{{9, "姓名", model.CodeRequired}, {10, "身份证号", model.CodeIdentityRequired}}
	wantWarns := []rc{
		{2, "身份证号", model.CodeIDMissing}, {3, "身份证号", model.CodeIDMissing},
		{4, "身份证号", model.CodeIDChecksum},
		{5, "出生日期", model.CodeBirthDateLunar},
		{6, "出生日期", model.CodeBirthDateMismatch},
	}
	if !reflect.DeepEqual(errs, wantErrs) {
		t.Errorf("errors %v, want %v", errs, wantErrs)
	}
	if !reflect.DeepEqual(warns, wantWarns) {
		t.Errorf("warnings %v, want %v", warns, wantWarns)
	}
	recs := registrations(t, st)
	for name, want := range map[string]model.Registration{
		"甲二": {Gender: "F", BirthDate: "1951-02-03"},
		"戊":  {Gender: "F", BirthDate: "1982-02-02", IDNumber: withX},
		"己":  {Gender: "M", BirthDate: "1983-03-03", IDNumber: spaced},
		"辛":  {Gender: "M", BirthDate: "1990-01-02"},
	} {
		r := recs[name]
		if r == nil {
			t.Fatalf("%s not imported", name)
		}
		got, _ := model.RegistrationFromFields(r.Values())
		if got.Gender != want.Gender || got.BirthDate != want.BirthDate || want.IDNumber != "" && got.IDNumber != want.IDNumber {
			t.Errorf("%s: %+v", name, got)
		}
	}
	t.Run("SecondImportChangesNothing", func(t *testing.T) {
		rep, err := roll.ImportRegistrations(context.Background(), st, strings.NewReader(csv), roll.Options{})
		if err != nil || rep.Imported != 0 || rep.Unchanged != 8 || rep.NeedsVerification != 0 || len(rep.Warnings) != 0 {
			t.Fatalf("%+v %v", rep, err)
		}
	})
}

func TestImportRegistrations_ReportJSON(t *testing.T) {
	b, err := json.Marshal(&roll.Report{})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range []string{"read", "imported", "needs_verification", "rejected", "unchanged", "errors", "warnings"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in %s", k, b)
		}
	}
}

func TestImportRegistrations_WarningsCapped(t *testing.T) {
	st := openStore(t)
	withDistricts(t, st)
	var b strings.Builder
	b.WriteString("姓名,出生日期,身份证号,选区,编号\n")
	for i := range 5 {
		fmt.Fprintf(&b, "人%d,1950-01-01,,430102001001,R%d\n", i, i)
	}
	var seen int
	rep, err := roll.ImportRegistrations(context.Background(), st, strings.NewReader(b.String()),
		roll.Options{MaxErrors: 2, OnWarning: func(roll.RowError) { seen++ }})
	if err != nil || rep.Imported != 5 || rep.NeedsVerification != 5 {
		t.Fatalf("%+v %v", rep, err)
	}
	// Each row warns of the missing ID and of the gender nobody can read.
	if len(rep.Warnings) != 2 || rep.WarningsOmitted != 8 || seen != 10 {
		t.Fatalf("warnings %d, omitted %d, seen %d", len(rep.Warnings), rep.WarningsOmitted, seen)
	}
}

func TestImportDistricts_KindsAndHeaders(t *testing.T) {
	for _, tc := range []struct {
		name, file string
	}{
		{"Chinese", "代码,名称,类型,上级\n" +
			"430102001001,水塘垸村,村委会,430102001\n" +
			"430102001002,黄花社区,居委会,430102001\n" +
			"4301029001,供电所,单位选区,\n" +
			"430102001901,农机站,单位,430102001\n" +
			"430102002001,八一村,村民委员会,430102002\n" +
			"430102002002,东岸社区,社区,430102002\n"},
		{"English", "Code,Name,Kind,Parent\n" +
			"430102001001,水塘垸村, Village ,430102001\n" +
			"430102001002,黄花社区,community,430102001\n" +
			"4301029001,供电所,UNIT,430102\n" +
			"430102001901,农机站,work_unit,430102001\n" +
			"430102002001,八一村,村,430102002\n" +
			"430102002002,东岸社区,Community,430102002\n"},
		{"NoHeader", "430102001001,水塘垸村,village\n430102001002,黄花社区,社区\n4301029001,供电所,unit\n" +
			"430102001901,农机站,Work unit\n430102002001,八一村,村\n430102002002,东岸社区,社区\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			rep, err := roll.ImportDistricts(context.Background(), st, strings.NewReader(tc.file), roll.Options{})
			if err != nil || rep.Imported != 6 || rep.Rejected != 0 {
				t.Fatalf("%+v %v", rep, err)
			}
			want := map[string]model.District{
				"430102001001": {Kind: "village", Town: "430102001", County: "430102"},
				"430102001002": {Kind: "community", Town: "430102001", County: "430102"},
				"4301029001":   {Kind: "work_unit", County: "430102"},
				"430102001901": {Kind: "work_unit", Town: "430102001", County: "430102"},
				"430102002001": {Kind: "village", Town: "430102002", County: "430102"},
			}
			st.View(context.Background(), func(tx store.Tx) error {
				for code, w := range want {
					d, err := tx.District(code)
					if err != nil || d.Kind != w.Kind || d.Town != w.Town || d.County != w.County {
						t.Errorf("%s: %+v %v", code, d, err)
					}
				}
				return nil
			})
		})
	}
}

func TestImportDistricts_ErrCode(t *testing.T) {
	st := openStore(t)
	file := "代码,名称,类型,上级,县\n" +
		"d1,水塘垸村,村,,\n" + // 2: not a real code
		"990000001001,外地村,村,,\n" + // 3: no such county
		"43010200100,短村,村,,\n" + // 4: fine: the county's code and a number
		"430102001003,错村,村,430103001,\n" + // 5: parent not its beginning
		"430102001004,错县村,村,,430103\n" + // 6: county not its beginning
		"430102001005,无类村,乡,,\n" // 7: kind
	rep, err := roll.ImportDistricts(context.Background(), st, strings.NewReader(file), roll.Options{})
	if err != nil || rep.Read != 6 || rep.Imported != 1 || rep.Rejected != 5 {
		t.Fatalf("%+v %v", rep, err)
	}
	type rc struct {
		row          int
		column, code string
	}
	var got []rc
	for _, e := range rep.Errors {
		got = append(got, rc{e.Row, e.Column, e.Code})
	}
	want := []rc{{2, "代码", roll.CodeDistrictCodeInvalid}, {3, "代码", roll.CodeDistrictCodeInvalid},
		{5, "上级", roll.CodeDistrictParent}, {6, "县", roll.CodeDistrictCounty}, {7, "类型", roll.CodeDistrictKind}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("errors %v, want %v", got, want)
	}
	if r := rep.Errors[0].Reason; !strings.Contains(r, "选区代码须以已知县（区）") || !strings.Contains(r, "known county") {
		t.Fatalf("reason %q", r)
	}
}

func TestImportRegistrations_WorkUnitByName(t *testing.T) {
	st := openStore(t)
	rep, err := roll.ImportDistricts(context.Background(), st,
		strings.NewReader("code,name,kind\n4301029001,供电所,unit\n"), roll.Options{})
	if err != nil || rep.Imported != 1 {
		t.Fatalf("%+v %v", rep, err)
	}
	csv := "姓名,出生日期,身份证号,选区\n王雄,1970-05-06,,供电所\n李四,1970-05-06,,4301029002\n"
	rep, err = roll.ImportRegistrations(context.Background(), st, strings.NewReader(csv), roll.Options{})
	if err != nil || rep.Imported != 1 || rep.Rejected != 1 || rep.Errors[0].Code != roll.CodeDistrictUnknown ||
		len(rep.Errors) != 1 || rep.Errors[0].Column != "选区" {
		t.Fatalf("%+v %v", rep, err)
	}
	if r := registrations(t, st)["王雄"]; r == nil || r.District != "4301029001" {
		t.Fatalf("%+v", r)
	}
}
