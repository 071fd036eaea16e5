package roll_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/roll"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// verificationFixture imports a county's districts, a town's villages and
// work units numbered after the county (4301029001) and after the town
// (430102001901), and registrations of which some need verification.
func verificationFixture(t *testing.T) store.Store {
	t.Helper()
	st := openStore(t)
	districts := "代码,名称,类型,上级\n" +
		"430102001001,水塘垸村,村,430102001\n" +
		"430102001901,农机站,单位,430102001\n" +
		"4301029001,供电所,单位选区,\n" +
		"430102002001,八一村,村,430102002\n"
	if rep, err := roll.ImportDistricts(context.Background(), st, strings.NewReader(districts), roll.Options{}); err != nil || rep.Imported != 4 {
		t.Fatalf("%+v %v", rep, err)
	}
	good := func(birth string, seq int, male bool) string { return idNumber(t, "430102", birth, seq, male) }
	regs := "姓名,性别,出生日期,身份证号,选区,选民小组,状态,减少原因\n" +
		"张三,男,1950-01-01,,430102001001,第10组,,\n" +
		"安娜,女,1951-01-01,,430102001001,第2组,,\n" +
		"李四,男,1952-01-01," + good("19520101", 1, true)[:17] + "0,430102001001,第2组,,\n" +
		"王五,男,1953-01-01," + good("19530101", 3, true) + ",430102001001,第2组,,\n" +
		"除名,男,1954-01-01,,430102001001,第2组,removed,died\n" +
		"赵六,男,1960-02-02," + good("19600101", 5, true) + ",430102001901,1,,\n" +
		"钱七,女,1961-01-01,,4301029001,1,,\n" +
		"孙八,女,1962-01-01,,430102002001,1,,\n"
	if rep, err := roll.ImportRegistrations(context.Background(), st, strings.NewReader(regs), roll.Options{}); err != nil ||
		rep.Imported != 8 || rep.NeedsVerification != 6 {
		t.Fatalf("%+v %v", rep, err)
	}
	return st
}

func names(items []roll.Unverified) []string {
	var out []string
	for _, u := range items {
		out = append(out, u.District+" "+u.Name)
	}
	return out
}

func TestListUnverified(t *testing.T) {
	st := verificationFixture(t)
	page, err := roll.ListUnverified(context.Background(), st, roll.VerificationQuery{})
	if err != nil {
		t.Fatal(err)
	}
	// By district, then 第2组 before 第10组, then pinyin; the verified and
	// the removed are left out.
	want := []string{"430102001001 安娜", "430102001001 李四", "430102001001 张三",
		"430102001901 赵六", "430102002001 孙八", "4301029001 钱七"}
	if got := names(page.Items); !reflect.DeepEqual(got, want) || page.Next != "" {
		t.Fatalf("got %v next %q, want %v", got, page.Next, want)
	}
	li := page.Items[1]
	if li.IDStatus != model.IDDoubtful || len(li.Reasons) != 1 || li.Reasons[0].Code != model.CodeIDChecksum ||
		li.Gender != "M" || li.BirthDate != "1952-01-01" || li.VoterGroup != "第2组" || li.Record == "" {
		t.Fatalf("%+v", li)
	}
	if zhao := page.Items[3]; zhao.IDStatus != model.IDDoubtful || zhao.Reasons[0].Code != model.CodeBirthDateMismatch {
		t.Fatalf("%+v", zhao)
	}
	if an := page.Items[0]; an.IDStatus != model.IDMissing || an.Reasons[0].Code != model.CodeIDMissing {
		t.Fatalf("%+v", an)
	}

	t.Run("Pages", func(t *testing.T) {
		var got []string
		q := roll.VerificationQuery{Limit: 4}
		for n := 0; ; n++ {
			page, err := roll.ListUnverified(context.Background(), st, q)
			if err != nil || n > 3 {
				t.Fatalf("%v, page %d", err, n)
			}
			got = append(got, names(page.Items)...)
			if page.Next == "" {
				break
			}
			q.After = page.Next
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("pages %v", got)
		}
	})
	t.Run("Districts", func(t *testing.T) {
		page, err := roll.ListUnverified(context.Background(), st,
			roll.VerificationQuery{Districts: []string{"4301029001", "430102001901"}})
		if err != nil || !reflect.DeepEqual(names(page.Items), []string{"430102001901 赵六", "4301029001 钱七"}) {
			t.Fatalf("%v %v", names(page.Items), err)
		}
		page, err = roll.ListUnverified(context.Background(), st, roll.VerificationQuery{Districts: []string{}})
		if err != nil || len(page.Items) != 0 {
			t.Fatalf("none asked: %v %v", names(page.Items), err)
		}
	})
	// The cursor is a record ID: it says nothing of the person in a URL, and
	// the next page starts after that record's place even once it has been
	// verified meanwhile.
	t.Run("CursorAfterVerified", func(t *testing.T) {
		first, err := roll.ListUnverified(context.Background(), st, roll.VerificationQuery{Limit: 2})
		if err != nil || first.Next != first.Items[1].Record {
			t.Fatalf("next %q, %v", first.Next, err)
		}
		li := first.Items[1] // 李四, whose ID fails its check digit
		fixed := idNumber(t, "430102", "19520101", 1, true)
		_, err = store.Push(context.Background(), st, store.PushRequest{Device: store.ServerDevice, Author: "wang",
			Changes: []dsync.Change{{ID: "fix-li", Device: store.ServerDevice, Record: li.Record, Type: model.TypeRegistration,
				District: li.District, Op: dsync.OpUpdate, Set: map[string]json.RawMessage{"id_number": json.RawMessage(`"` + fixed + `"`)},
				Base: map[string]string{"id_number": baseOf(t, st, li.Record, "id_number")}, HLC: dsync.MakeHLC(1, 0)}}})
		if err != nil {
			t.Fatal(err)
		}
		rest, err := roll.ListUnverified(context.Background(), st, roll.VerificationQuery{After: first.Next})
		if err != nil || !reflect.DeepEqual(names(rest.Items), want[2:]) {
			t.Fatalf("after the verified record: %v %v, want %v", names(rest.Items), err, want[2:])
		}
	})
	t.Run("ErrCursor", func(t *testing.T) {
		if _, err := roll.ListUnverified(context.Background(), st, roll.VerificationQuery{After: "!!"}); err == nil {
			t.Fatal("bad cursor accepted")
		}
	})
}

func TestExportVerification(t *testing.T) {
	st := verificationFixture(t)
	var buf bytes.Buffer
	n, err := roll.ExportVerification(context.Background(), st, &buf, roll.VerificationOptions{Districts: []string{"430102001001"}})
	if err != nil || n != 3 {
		t.Fatalf("%d %v", n, err)
	}
	rows := readCSV(t, buf.Bytes())
	for _, h := range []string{"选区", "姓名", "性别", "出生日期", "身份证号", "核实状态", "原因"} {
		if column(rows, h) == nil {
			t.Fatalf("no column %s in %q", h, rows[0])
		}
	}
	if got := column(rows, "核实状态"); !reflect.DeepEqual(got, []string{"缺身份证号", "身份存疑", "缺身份证号"}) {
		t.Fatalf("status %v", got)
	}
	if got := column(rows, "原因")[1]; got != "身份证号校验码错误" {
		t.Fatalf("reason %q", got)
	}

	buf.Reset()
	if _, err := roll.ExportVerification(context.Background(), st, &buf,
		roll.VerificationOptions{Format: roll.FormatXLSX, English: true}); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	xrows, err := f.GetRows("Needs verification")
	if err != nil || len(xrows) != 7 || xrows[0][0] != "District" || xrows[2][6] != "Identity doubtful" ||
		xrows[2][7] != "ID number check digit is wrong" {
		t.Fatalf("%q %v", xrows, err)
	}
}

func TestExportRoll_VerificationMark(t *testing.T) {
	st := verificationFixture(t)
	office := exportCSV(t, st, roll.RollOptions{District: "430102001001"})
	marks := column(office, "待核实")
	if got := column(office, "姓名"); !reflect.DeepEqual(got, []string{"安娜", "李四", "王五", "张三"}) {
		t.Fatalf("office roll %v", got)
	}
	if marks[0] != "未填写身份证号，待核实" || marks[1] != "身份证号校验码错误" || marks[2] != "" {
		t.Fatalf("marks %q", marks)
	}
	english := exportCSV(t, st, roll.RollOptions{District: "430102001001", English: true})
	if got := column(english, "Needs verification")[0]; got != "no ID number: to be verified" {
		t.Fatalf("english mark %q", got)
	}

	posted := exportCSV(t, st, roll.RollOptions{District: "430102001001", Posted: true})
	if got := column(posted, "姓名"); !reflect.DeepEqual(got, []string{"安娜", "李四", "王五", "张三"}) {
		t.Fatalf("posted roll %v", got)
	}
	for _, h := range posted[0] {
		if h == "待核实" {
			t.Fatal("the posted roll marks who needs verification")
		}
	}
	for _, r := range posted {
		if strings.Contains(strings.Join(r, ","), "待核实") {
			t.Fatalf("posted row %q", r)
		}
	}
}

func TestComputeStats_NeedsVerification(t *testing.T) {
	st := verificationFixture(t)
	units := func(inScope func(string) bool) map[string]roll.Unit {
		s, err := roll.ComputeStats(context.Background(), st, inScope)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]roll.Unit{}
		for _, u := range s.Units {
			m[u.Level+":"+u.Code] = u
		}
		return m
	}
	all := units(nil)
	for key, want := range map[string]int{
		"district:430102001001": 3, "district:430102001901": 1, "district:4301029001": 1,
		"town:430102001": 4, "town:430102002": 1, "county:430102": 6, "total:": 6,
	} {
		if got := all[key].NeedsVerification; got != want {
			t.Errorf("%s: needs verification %d, want %d", key, got, want)
		}
	}
	if all["district:4301029001"].Parent != "" || all["district:430102001901"].Parent != "430102001" {
		t.Errorf("parents %+v %+v", all["district:4301029001"], all["district:430102001901"])
	}
	town := units((&store.User{Role: store.RoleCoordinator, Districts: []string{"430102001"}}).InScope)
	if town["town:430102001"].NeedsVerification != 4 || town["district:430102001901"].Registered != 1 ||
		len(town) != 5 { // two districts, the town, the county, the total
		t.Errorf("town's coordinator %v", town)
	}
	if _, ok := town["district:4301029001"]; ok {
		t.Error("a town's coordinator sees a work unit numbered after the county")
	}

	var buf bytes.Buffer
	s, _ := roll.ComputeStats(context.Background(), st, nil)
	if err := s.WriteCSV(&buf, false); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, buf.Bytes())
	var total []string
	for _, r := range rows {
		if r[0] == "合计" {
			total = r
		}
	}
	if rows[0][5] != "待核实" || total == nil || total[5] != "6" {
		t.Fatalf("csv header %q total %q", rows[0], total)
	}
}

func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF")))).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("csv: %v", err)
	}
	return rows
}

// baseOf is the version of a record's field, the base an update names.
func baseOf(t *testing.T, st store.Store, id, field string) string {
	t.Helper()
	var v string
	err := st.View(context.Background(), func(tx store.Tx) error {
		rec, err := tx.Record(id)
		if err == nil {
			v = rec.Fields[field].Version
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}
