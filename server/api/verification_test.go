package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/roll"
	"github.com/dengji/dengji/server/store"
)

type verificationPage struct {
	Items []roll.Unverified `json:"items"`
	Next  string            `json:"next"`
}

// TestAPI_VerificationScoped: a county's and a town's coordinators see the
// verification list and the statistics of their work-unit districts too
// (numbered after the county, 4301029001, or the town, 430102001901);
// another town's coordinator sees neither.
func TestAPI_VerificationScoped(t *testing.T) {
	s := startServer(t)
	for _, u := range []accounts.NewUser{
		{Name: "county", Role: store.RoleCoordinator, Districts: []string{"430102"}, Password: "county-password"},
		{Name: "town", Role: store.RoleCoordinator, Districts: []string{"430102001"}, Password: "town-password"},
		{Name: "other", Role: store.RoleCoordinator, Districts: []string{"430102002"}, Password: "other-password"},
	} {
		if _, err := accounts.Add(context.Background(), s.st, u); err != nil {
			t.Fatal(err)
		}
	}
	admin := s.login(t, "admin", "admin-pass", "")
	county := s.login(t, "county", "county-password", "")
	town := s.login(t, "town", "town-password", "")
	other := s.login(t, "other", "other-password", "")
	li := s.login(t, "li", "li-password", "phone-1")

	code, body := s.send(t, "POST", "/v1/admin/import/districts", admin.AccessToken, "text/csv",
		strings.NewReader("代码,名称,类型,上级\n430102001001,水塘垸村,村委会,430102001\n"+
			"430102001901,农机站,单位,430102001\n4301029001,供电所,unit,\n430102002001,八一村,村,430102002\n"))
	if code != 200 || !strings.Contains(string(body), `"imported":4`) {
		t.Fatalf("districts: %d %s", code, body)
	}
	regs := "姓名,性别,出生日期,身份证号,选区\n" +
		"张三,男,1950-01-01,,430102001001\n" +
		"李四,男,1952-01-01," + rollID(t, "430102", "19520101", 1)[:17] + "0,430102001001\n" +
		"王五,男,1953-01-01," + rollID(t, "430102", "19530101", 3) + ",430102001001\n" +
		"赵六,女,1960-01-01,,430102001901\n" +
		"钱七,女,1961-01-01,,4301029001\n" +
		"孙八,女,1962-01-01,,430102002001\n"
	code, body = s.send(t, "POST", "/v1/admin/import/registrations", admin.AccessToken, "text/csv", strings.NewReader(regs))
	if code != 200 || !strings.Contains(string(body), `"imported":6`) || !strings.Contains(string(body), `"needs_verification":5`) {
		t.Fatalf("registrations: %d %s", code, body)
	}

	list := func(t *testing.T, token, query string) []string {
		t.Helper()
		var page verificationPage
		if code := s.call(t, "GET", "/v1/verification"+query, token, nil, &page); code != 200 {
			t.Fatalf("%s: %d", query, code)
		}
		var out []string
		for _, u := range page.Items {
			out = append(out, u.District+" "+u.Name)
		}
		return out
	}
	stats := func(t *testing.T, token string) map[string]int {
		t.Helper()
		var st roll.Stats
		if code := s.call(t, "GET", "/v1/export/stats", token, nil, &st); code != 200 {
			t.Fatalf("stats: %d", code)
		}
		m := map[string]int{}
		for _, u := range st.Units {
			m[u.Level+":"+u.Code] = u.NeedsVerification
		}
		return m
	}
	equal := func(t *testing.T, got, want []string) {
		t.Helper()
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("got %v, want %v", got, want)
		}
	}

	t.Run("County", func(t *testing.T) {
		equal(t, list(t, county.AccessToken, ""), []string{"430102001001 李四", "430102001001 张三",
			"430102001901 赵六", "430102002001 孙八", "4301029001 钱七"})
		equal(t, list(t, county.AccessToken, "?district=4301029001"), []string{"4301029001 钱七"})
		st := stats(t, county.AccessToken)
		if st["district:4301029001"] != 1 || st["county:430102"] != 5 || st["town:430102001"] != 3 || st["total:"] != 5 {
			t.Fatalf("stats %v", st)
		}
	})
	t.Run("Town", func(t *testing.T) {
		equal(t, list(t, town.AccessToken, ""), []string{"430102001001 李四", "430102001001 张三", "430102001901 赵六"})
		equal(t, list(t, town.AccessToken, "?district=430102001901"), []string{"430102001901 赵六"})
		st := stats(t, town.AccessToken)
		if st["district:430102001901"] != 1 || st["town:430102001"] != 3 || st["total:"] != 3 {
			t.Fatalf("stats %v", st)
		}
		if _, ok := st["district:4301029001"]; ok {
			t.Fatalf("the county's work unit in a town's stats: %v", st)
		}
	})
	t.Run("OtherTown", func(t *testing.T) {
		equal(t, list(t, other.AccessToken, ""), []string{"430102002001 孙八"})
		st := stats(t, other.AccessToken)
		if _, ok := st["district:430102001901"]; ok || st["total:"] != 1 {
			t.Fatalf("stats %v", st)
		}
	})
	t.Run("Pages", func(t *testing.T) {
		var got []string
		next := ""
		for range 5 {
			var page verificationPage
			if code := s.call(t, "GET", "/v1/verification?limit=2&after="+next, admin.AccessToken, nil, &page); code != 200 {
				t.Fatalf("%d", code)
			}
			for _, u := range page.Items {
				got = append(got, u.Name)
			}
			if next = page.Next; next == "" {
				break
			}
		}
		equal(t, got, []string{"李四", "张三", "赵六", "孙八", "钱七"})
	})
	t.Run("Item", func(t *testing.T) {
		var page verificationPage
		s.call(t, "GET", "/v1/verification?district=430102001001", town.AccessToken, nil, &page)
		li := page.Items[0]
		if li.IDStatus != "doubtful" || len(li.Reasons) != 1 || li.Reasons[0].Code != "id_checksum" ||
			!strings.Contains(li.Reasons[0].Message, " / ") || li.Record == "" || li.BirthDate != "1952-01-01" {
			t.Fatalf("%+v", li)
		}
	})
	for _, tc := range []struct {
		name, path, token string
		status            int
		code              string
	}{
		{"ErrRegistrar", "/v1/verification", li.AccessToken, 403, "forbidden"},
		{"ErrOtherTownsWorkUnit", "/v1/verification?district=430102001901", other.AccessToken, 403, "out_of_scope"},
		{"ErrCountyOfTown", "/v1/verification?district=430102", town.AccessToken, 403, "out_of_scope"},
		{"ErrCountysWorkUnit", "/v1/verification?district=4301029001", town.AccessToken, 403, "out_of_scope"},
		{"ErrLimit", "/v1/verification?limit=0", admin.AccessToken, 400, "bad_request"},
		{"ErrCursor", "/v1/verification?after=nonsense!", admin.AccessToken, 400, "bad_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, code := errCode(t, s, "GET", tc.path, tc.token, nil); status != tc.status || code != tc.code {
				t.Fatalf("%d %s", status, code)
			}
		})
	}
}
