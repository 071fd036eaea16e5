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

	"github.com/dengji/dengji/server/roll"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// rollFixture imports three districts and voters in 430102001001 (out of pinyin
// order, over two voter groups), plus one removed voter, one in the four
// categories, one deleted, and voters and a migrant contact in the other two.
func rollFixture(t *testing.T) (store.Store, map[string]string) {
	st := openStore(t)
	withDistricts(t, st)
	ids := map[string]string{
		"赵六": idNumber(t, "430102", "19800101", 11, true),
		"安娜": idNumber(t, "430102", "19810101", 12, false),
		"李四": idNumber(t, "430102", "19820101", 13, true),
		"张三": idNumber(t, "430102", "19830101", 14, false),
		"陈七": idNumber(t, "430102", "19840101", 15, true),
		"除名": idNumber(t, "430102", "19850101", 16, true),
		"特殊": idNumber(t, "430102", "19860101", 17, true),
		"删除": idNumber(t, "430102", "19870101", 18, true),
		"王五": idNumber(t, "110105", "19880101", 19, true),
		"黄花": idNumber(t, "110105", "19890101", 20, false),
	}
	csvText := "姓名,性别,出生日期,身份证号,联系电话,户籍地址,选区,选民小组,登记方式,状态,减少原因,四种人,增加原因\n" +
		"赵六,男,1980-01-01," + ids["赵六"] + ",13800000001,湖南省长沙市芙蓉区一号,430102001001,第10组,door,,,,\n" +
		"安娜,女,1981-01-01," + ids["安娜"] + ",13800000002,湖南省长沙市芙蓉区二号,430102001001,第2组,station,,,,new_18\n" +
		"李四,男,1982-01-01," + ids["李四"] + ",13800000003,,430102001001,第2组,door,,,,\n" +
		"张三,女,1983-01-01," + ids["张三"] + ",13800000004,,430102001001,第2组,online,,,,moved_in\n" +
		"陈七,男,1984-01-01," + ids["陈七"] + ",13800000005,,430102001001,第10组,door,,,,\n" +
		"除名,男,1985-01-01," + ids["除名"] + ",,,430102001001,第2组,door,removed,died,,\n" +
		"特殊,男,1986-01-01," + ids["特殊"] + ",,,430102001001,第2组,door,,,whereabouts_unknown,\n" +
		"删除,男,1987-01-01," + ids["删除"] + ",,,430102001001,第2组,door,,,,\n" +
		"王五,男,1988-01-01," + ids["王五"] + ",,,430102001002,1,station,,,,\n" +
		"黄花,女,1989-01-01," + ids["黄花"] + ",,,430102002001,1,door,removed,moved_out,,\n"
	rep, err := roll.ImportRegistrations(context.Background(), st, strings.NewReader(csvText), roll.Options{})
	if err != nil || rep.Imported != 10 {
		t.Fatalf("%+v %v", rep, err)
	}
	recs := registrations(t, st)
	del := recs["删除"]
	contact := dsync.Change{ID: "c-1", Device: store.ServerDevice, Counter: 1000, Record: "mc-1",
		Type: "migrant_contact", District: "430102001002", Op: dsync.OpCreate, Set: map[string]json.RawMessage{
			"registration_id": json.RawMessage(`"` + recs["王五"].ID + `"`), "date": json.RawMessage(`"2026-03-01"`),
			"channel": json.RawMessage(`"phone"`), "outcome": json.RawMessage(`"proxy"`),
			"evidence": json.RawMessage(`"heard"`)}}
	deletion := dsync.Change{ID: "del-1", Device: store.ServerDevice, Counter: 1001, Record: del.ID,
		Type: del.Type, District: del.District, Op: dsync.OpDelete,
		Set:  map[string]json.RawMessage{dsync.FieldDeleted: json.RawMessage("true")},
		Base: map[string]string{dsync.FieldDeleted: ""}}
	for k, f := range del.Fields {
		deletion.Base[k] = f.Version
	}
	res, err := store.Push(context.Background(), st, store.PushRequest{Device: store.ServerDevice,
		Changes: []dsync.Change{contact, deletion}})
	if err != nil || res[0].Status != dsync.StatusApplied || res[1].Status != dsync.StatusApplied {
		t.Fatalf("%+v %v", res, err)
	}
	return st, ids
}

func exportCSV(t *testing.T, st store.Store, opt roll.RollOptions) [][]string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := roll.ExportRoll(context.Background(), st, &buf, opt); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("\xEF\xBB\xBF")) {
		t.Fatal("no byte-order mark")
	}
	rows, err := csv.NewReader(bytes.NewReader(buf.Bytes()[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func column(rows [][]string, name string) []string {
	i := -1
	for j, h := range rows[0] {
		if h == name {
			i = j
		}
	}
	var out []string
	for _, r := range rows[1:] {
		if i >= 0 {
			out = append(out, r[i])
		}
	}
	return out
}

func TestExportRoll_OfficeOrder(t *testing.T) {
	st, _ := rollFixture(t)
	rows := exportCSV(t, st, roll.RollOptions{District: "430102001001"})
	// 第2组 before 第10组; within a group by pinyin: an, li, zhang / chen, zhao.
	// The removed, the deleted are left out; the office list keeps 特殊 (te).
	want := []string{"安娜", "李四", "特殊", "张三", "陈七", "赵六"}
	if got := column(rows, "姓名"); !reflect.DeepEqual(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	if got := column(rows, "联系电话"); got[0] != "13800000002" {
		t.Fatalf("phones %v", got)
	}
}

func TestExportRoll_PostedHidesIDAndPhone(t *testing.T) {
	st, ids := rollFixture(t)
	var buf bytes.Buffer
	n, err := roll.ExportRoll(context.Background(), st, &buf, roll.RollOptions{District: "430102001001", Posted: true})
	if err != nil || n != 5 {
		t.Fatalf("%d %v", n, err)
	}
	out := buf.String()
	for name, id := range ids {
		if strings.Contains(out, id) || strings.Contains(out, id[6:]) || strings.Contains(out, id[14:]) {
			t.Errorf("posted roll shows the ID number of %s", name)
		}
	}
	for _, leak := range []string{"138000000", "芙蓉区", "特殊", "下落不明"} {
		if strings.Contains(out, leak) {
			t.Errorf("posted roll shows %q", leak)
		}
	}
	rows := exportCSV(t, st, roll.RollOptions{District: "430102001001", Posted: true})
	if got := column(rows, "身份证号")[0]; got != ids["安娜"][:6]+"************" {
		t.Fatalf("masked %q", got)
	}
}

func TestExportRoll_EnglishXLSX(t *testing.T) {
	st, ids := rollFixture(t)
	var buf bytes.Buffer
	if _, err := roll.ExportRoll(context.Background(), st, &buf,
		roll.RollOptions{District: "430102001001", Format: roll.FormatXLSX, English: true}); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("Voter roll")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 7 || rows[0][2] != "Name" || rows[1][2] != "安娜" || rows[1][3] != "Female" || rows[1][5] != ids["安娜"] {
		t.Fatalf("rows %q", rows)
	}
}

func TestExportRoll_ErrUnknownDistrict(t *testing.T) {
	st := openStore(t)
	_, err := roll.ExportRoll(context.Background(), st, &bytes.Buffer{}, roll.RollOptions{District: "nope"})
	if err == nil || !strings.Contains(err.Error(), "unknown district") {
		t.Fatalf("err = %v", err)
	}
}

func TestComputeStats_RollsUp(t *testing.T) {
	st, _ := rollFixture(t)
	s, err := roll.ComputeStats(context.Background(), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	units := map[string]roll.Unit{}
	for _, u := range s.Units {
		units[u.Level+":"+u.Code] = u
	}
	d1 := units["district:430102001001"]
	if d1.Registered != 5 || d1.Men != 3 || d1.Women != 2 || d1.Removed != 1 || d1.Removals["died"] != 1 ||
		d1.Categories["whereabouts_unknown"] != 1 || d1.Additions["new_18"] != 1 || d1.Channels["door"] != 5 {
		t.Fatalf("430102001001 %+v", d1)
	}
	if d2 := units["district:430102001002"]; d2.Contacts != 1 || d2.ContactOutcomes["proxy"] != 1 || d2.ContactEvidence["heard"] != 1 {
		t.Fatalf("430102001002 %+v", d2)
	}
	sum := func(codes ...string) roll.Counts {
		acc := roll.Counts{Additions: map[string]int{}, Removals: map[string]int{}, Categories: map[string]int{},
			Channels: map[string]int{}, ContactOutcomes: map[string]int{}, ContactEvidence: map[string]int{}}
		for _, code := range codes {
			u := units["district:"+code]
			acc.Add(&u.Counts)
		}
		return acc
	}
	if got, want := units["county:430102"].Counts, sum("430102001001", "430102001002", "430102002001"); !reflect.DeepEqual(got, want) {
		t.Fatalf("county %+v, districts sum %+v", got, want)
	}
	if got, want := units["town:430102001"].Counts, sum("430102001001", "430102001002"); !reflect.DeepEqual(got, want) {
		t.Fatalf("town %+v, districts sum %+v", got, want)
	}
	if units["total:"].Registered != 6 {
		t.Fatalf("total %+v", units["total:"])
	}

	t.Run("Scoped", func(t *testing.T) {
		s, err := roll.ComputeStats(context.Background(), st, func(d string) bool { return d == "430102001002" })
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range s.Units {
			if u.Code == "430102001001" || u.Registered > 1 {
				t.Fatalf("out of scope: %+v", u)
			}
		}
	})
	t.Run("CSV", func(t *testing.T) {
		var buf bytes.Buffer
		if err := s.WriteCSV(&buf, false); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(bytes.NewReader(buf.Bytes()[3:])).ReadAll()
		if err != nil || rows[0][4] != "登记选民" || len(rows) != len(s.Units)+1 {
			t.Fatalf("%q %v", rows, err)
		}
	})
}
