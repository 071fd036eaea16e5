package sdk

import (
	"testing"

	dsync "github.com/dengji/dengji/sync"
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
	names := func(rs []*dsync.Record) []string {
		var out []string
		for _, r := range rs {
			out = append(out, stringField(r, "name"))
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
			if stringField(got[i], "name") != tc.want[i] {
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
