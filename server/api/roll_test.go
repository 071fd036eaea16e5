package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/dengji/dengji/model/idcard"
	"github.com/dengji/dengji/server/roll"
)

func rollID(t *testing.T, region, birth string, seq int) string {
	return idcard.Compose(region, birth, seq)
}

// send posts or gets raw bytes and returns the status and body.
func (s *testServer) send(t *testing.T, method, path, token, ctype string, body io.Reader) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL()+path, body)
	req.Header.Set("Authorization", "Bearer "+token)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestAPI_ImportAndExportRoll(t *testing.T) {
	s := startServer(t)
	admin := s.login(t, "admin", "admin-pass", "")
	wang := s.login(t, "wang", "wang-password", "") // coordinator of 430102001001 and 430102001002
	li := s.login(t, "li", "li-password", "phone-1")

	code, body := s.send(t, "POST", "/v1/admin/import/districts?format=csv", admin.AccessToken, "text/csv",
		strings.NewReader("430102001001,水塘垸村,村,430102001\n430102001002,黄花社区,社区,430102001\n430102002001,供电所,单位,430102002\n"))
	if code != 200 {
		t.Fatalf("districts: %d %s", code, body)
	}

	ids := []string{rollID(t, "430102", "19900102", 11), rollID(t, "110105", "19800101", 22), rollID(t, "430102", "19700101", 33)}
	csvText := "姓名,性别,出生日期,身份证号,联系电话,选区,选民小组\n" +
		"李碧辉,男,1990-01-02," + ids[0] + ",13800138000,430102001001,1\n" +
		"杨倩,女,1980-01-01," + ids[1] + ",,430102001001,1\n" +
		"坏行,男,1990-01-02,123,,430102001001,1\n" +
		"王雄,男,1970-01-01," + ids[2] + ",,430102002001,1\n"
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, _ := mw.CreateFormFile("file", "登记.csv")
	fw.Write([]byte(csvText))
	mw.Close()
	t.Run("ImportForbiddenToCoordinator", func(t *testing.T) {
		code, _ := s.send(t, "POST", "/v1/admin/import/registrations", wang.AccessToken, "text/csv", strings.NewReader(csvText))
		if code != 403 {
			t.Fatalf("%d", code)
		}
	})
	code, body = s.send(t, "POST", "/v1/admin/import/registrations", admin.AccessToken, mw.FormDataContentType(), &form)
	var rep roll.Report
	// The row with a bad ID number goes in, needing verification.
	if err := json.Unmarshal(body, &rep); err != nil || code != 200 || rep.Imported != 4 || rep.Rejected != 0 ||
		rep.NeedsVerification != 1 || len(rep.Warnings) != 1 || rep.Warnings[0].Row != 4 || rep.Warnings[0].Column != "身份证号" {
		t.Fatalf("import: %d %s", code, body)
	}
	t.Run("ErrBadFile", func(t *testing.T) {
		code, body := s.send(t, "POST", "/v1/admin/import/registrations", admin.AccessToken, "text/csv", strings.NewReader("a,b\n"))
		if code != 400 || !strings.Contains(string(body), "bad_request") {
			t.Fatalf("%d %s", code, body)
		}
	})

	t.Run("PostedRoll", func(t *testing.T) {
		code, body := s.send(t, "GET", "/v1/export/roll?district=430102001001&posted=1", wang.AccessToken, "", nil)
		if code != 200 || !strings.Contains(string(body), "李碧辉") || strings.Contains(string(body), ids[0]) ||
			strings.Contains(string(body), "13800138000") {
			t.Fatalf("%d %s", code, body)
		}
	})
	t.Run("OfficeXLSX", func(t *testing.T) {
		code, body := s.send(t, "GET", "/v1/export/roll?district=430102001001&format=xlsx", wang.AccessToken, "", nil)
		if code != 200 || !bytes.HasPrefix(body, []byte("PK")) {
			t.Fatalf("%d", code)
		}
	})
	for _, tc := range []struct {
		name, path, token string
		status            int
		code              string
	}{
		{"ErrOutOfScope", "/v1/export/roll?district=430102002001", wang.AccessToken, 403, "out_of_scope"},
		{"ErrRegistrar", "/v1/export/roll?district=430102001001", li.AccessToken, 403, "forbidden"},
		{"ErrUnknownDistrict", "/v1/export/roll?district=430104001001", admin.AccessToken, 404, "not_found"},
		{"ErrFormat", "/v1/export/roll?district=430102001001&format=pdf", admin.AccessToken, 400, "bad_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, code := errCode(t, s, "GET", tc.path, tc.token, nil); status != tc.status || code != tc.code {
				t.Fatalf("%d %s", status, code)
			}
		})
	}

	t.Run("StatsScoped", func(t *testing.T) {
		var st roll.Stats
		if code := s.call(t, "GET", "/v1/export/stats", wang.AccessToken, nil, &st); code != 200 {
			t.Fatalf("%d", code)
		}
		for _, u := range st.Units {
			if u.Code == "430102002001" || u.Code == "430102002" {
				t.Fatalf("out of scope unit %+v", u)
			}
			if u.Level == roll.LevelTotal && (u.Registered != 3 || u.NeedsVerification != 1) {
				t.Fatalf("total %+v", u)
			}
		}
		code, body := s.send(t, "GET", "/v1/export/stats?format=csv", admin.AccessToken, "", nil)
		if code != 200 || !strings.Contains(string(body), "合计") {
			t.Fatalf("%d %s", code, body)
		}
	})
}

func TestAPI_ImportTooLarge(t *testing.T) {
	s := startServer(t)
	admin := s.login(t, "admin", "admin-pass", "")
	big := "姓名,身份证号,选区\n" + strings.Repeat("李碧辉,430102199001021234,430102001001\n", 40<<20/30)
	code, body := s.send(t, "POST", "/v1/admin/import/registrations", admin.AccessToken, "text/csv", strings.NewReader(big))
	if code != 413 || !strings.Contains(string(body), "too_large") {
		t.Fatalf("%d %s", code, body)
	}
}
