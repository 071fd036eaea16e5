package sdk

import (
	"testing"
)

func TestSearch_Offline(t *testing.T) {
	d, _ := mustOpen(t, Options{Validate: acceptAll})
	people := []map[string]string{
		{"name": "李碧辉", "id_number": "430102199001021241", "residence_address": "长沙市水塘垸3号"},
		{"name": "梁峻青", "id_number": "43010219850304123X", "residence_address": "长沙市人民路8号"},
		{"name": "王雄", "id_number": "430102197001011234", "household_address": "黄花镇供电所宿舍"},
	}
	ids := make([]string, len(people))
	for i, p := range people {
		ids[i] = must[string](t)(d.Create("registration", "430102001001", jsonFields(p)))
	}
	names := func(ss []*Summary) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.Name)
		}
		return out
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"碧辉", []string{"李碧辉"}},
		{"lbh", []string{"李碧辉"}},
		{"LJ", []string{"梁峻青"}},
		{"123x", []string{"梁峻青"}},
		{"1234", []string{"王雄"}},
		{"水塘垸", []string{"李碧辉"}},
		{"供电所", []string{"王雄"}},
		{"长沙市", []string{"李碧辉", "梁峻青"}},
		{"zz", nil},
	} {
		got, next, err := d.Search(tc.query, "", 10)
		if err != nil || next != "" || len(got) != len(tc.want) {
			t.Fatalf("%q: %v %q %v, want %v", tc.query, names(got), next, err, tc.want)
		}
		for i := range got {
			if got[i].Name != tc.want[i] {
				t.Fatalf("%q: %v, want %v", tc.query, names(got), tc.want)
			}
		}
	}
	// Pages of one: every record once, in ID order, then the end.
	var seen []string
	after := ""
	for {
		page, next, err := d.ListPage(ListFilter{}, after, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			seen = append(seen, r.ID)
		}
		if next == "" {
			break
		}
		after = next
	}
	if len(seen) != 3 || seen[0] != ids[0] || seen[2] != ids[2] {
		t.Fatalf("pages %v, want %v", seen, ids)
	}
	// A deleted record is not found.
	must0(t, d.Delete(ids[2]))
	if got, _, _ := d.Search("王雄", "", 10); len(got) != 0 {
		t.Fatalf("a deleted record was found: %v", names(got))
	}
}

func must0(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// summaries lists every summary of d, a page of two at a time.
func summaries(d *Device) ([]*Summary, error) {
	var out []*Summary
	after := ""
	for {
		page, next, err := d.ListSummaries(ListFilter{}, after, 2)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			return out, nil
		}
		after = next
	}
}

func TestListSummaries(t *testing.T) {
	d, _ := mustOpen(t, Options{Validate: acceptAll})
	var ids []string
	for i, p := range []map[string]string{
		{"name": "李碧辉", "id_number": "430102199001021241", "household_address": "水塘垸3号", "residence_address": "水塘垸3号"},
		{"name": "梁峻青", "household_address": "人民路8号", "residence_address": "黄花镇"},
		{"name": "王雄"},
	} {
		district := "430102001001"
		if i == 2 {
			district = "430102001002"
		}
		ids = append(ids, must[string](t)(d.Create("registration", district, jsonFields(p))))
	}
	must0(t, d.Update(ids[1], jsonFields(map[string]string{"name": "梁峻清"})))
	must0(t, d.Delete(ids[2]))
	ss := must[[]*Summary](t)(summaries(d))
	want := []Summary{
		{ID: ids[0], Type: "registration", District: "430102001001", Name: "李碧辉", Initials: "lbh",
			IDNumber: "430102199001021241", HouseholdAddress: "水塘垸3号", ResidenceAddress: "水塘垸3号"},
		{ID: ids[1], Type: "registration", District: "430102001001", Name: "梁峻清", Initials: "ljq",
			HouseholdAddress: "人民路8号", ResidenceAddress: "黄花镇"},
	}
	if len(ss) != len(want) {
		t.Fatalf("summaries %+v, want %+v", ss, want)
	}
	for i := range want {
		if *ss[i] != want[i] {
			t.Fatalf("summary %d: %+v, want %+v", i, *ss[i], want[i])
		}
	}
	all, next, err := d.ListSummaries(ListFilter{District: "430102001002", IncludeDeleted: true}, "", 10)
	if err != nil || next != "" || len(all) != 1 || !all[0].Deleted || all[0].Name != "王雄" {
		t.Fatalf("the deleted one by district: %+v %q %v", all, next, err)
	}
}
