package roll_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/model/idcard"
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
d1,水塘垸村,village,t1,c1
d2,黄花社区,社区,t1,c1
d3,供电所,单位,t2,c1
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
		"李碧辉,女,1990年1月2日," + idNumber(t, "430102", "19900102", 12, false) + ",长沙市芙蓉区,长沙市芙蓉区,13800138000,d1,第一组,A-1\n" +
		"梁峻青,男,1985/3/4," + idNumber(t, "430102", "19850304", 21, true) + ",,,0731-84567890,d1,第二组,A-2\n" +
		"王雄,男,19700506," + idNumber(t, "110105", "19700506", 33, true) + ",,,,d2,第一组,\n"
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
			strings.NewReader("d9,新村,hamlet\n,无名,村\nd8,八一村,村,t3\n"), roll.Options{})
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
	if r == nil || r.District != "d1" {
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
		"张三,M,1980-01-01," + good + ",d3,1,上门登记\n" +
		"李四,F,1980-01-01," + good[:17] + "0,d3,1,\n" + // row 3: check digit
		"王五,M,1980-01-01," + idNumber(t, "110105", "19800101", 3, true) + ",d99,1,\n" + // row 4: district
		"\n" +
		"赵六,F,1980-01-01," + idNumber(t, "110105", "19800101", 5, true) + ",d3,1,\n" // row 6 (5 is blank): gender
	var seen []roll.RowError
	rep, err := roll.ImportRegistrations(context.Background(), st, strings.NewReader(csv),
		roll.Options{Author: "admin", OnError: func(e roll.RowError) { seen = append(seen, e) }})
	if err != nil || rep.Read != 4 || rep.Imported != 1 || rep.Rejected != 3 {
		t.Fatalf("%+v %v", rep, err)
	}
	want := []roll.RowError{
		{Row: 3, Column: "id_number", Code: model.CodeIDChecksum},
		{Row: 4, Column: "district", Code: roll.CodeDistrictUnknown},
		{Row: 6, Column: "gender", Code: model.CodeGenderMismatch},
	}
	if len(rep.Errors) != len(want) || len(seen) != len(want) {
		t.Fatalf("errors: %+v", rep.Errors)
	}
	for i, w := range want {
		e := rep.Errors[i]
		if e.Row != w.Row || e.Column != w.Column || e.Code != w.Code || e.Reason == "" {
			t.Errorf("error %d: got %+v, want %+v", i, e, w)
		}
	}
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
		"小明,男,2008-05-02," + idNumber(t, "430102", "20080502", 1, true) + ",d1\n"
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
		{"李碧辉", "女", "1990-01-02", idNumber(t, "430102", "19900102", 12, false), "d1", "第一组"},
		{"梁峻青", "男", nil, idNumber(t, "430102", "19850304", 21, true), "水塘垸村", "第二组"},
		{"坏行", "男", "1985-03-04", "123", "d1", "第二组"},
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
	if err != nil || rep.Read != 3 || rep.Imported != 2 || rep.Rejected != 1 {
		t.Fatalf("%+v %v", rep, err)
	}
	if e := rep.Errors[0]; e.Row != 4 || e.Column != "身份证号" || e.Code != model.CodeIDLength {
		t.Fatalf("%+v", e)
	}
	reg, _ := model.RegistrationFromFields(registrations(t, st)["梁峻青"].Values())
	if reg.BirthDate != "1985-03-04" || registrations(t, st)["梁峻青"].District != "d1" {
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
