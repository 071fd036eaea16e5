package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/api"
	"github.com/dengji/dengji/server/dedupjob"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore/bolttest"
	dsync "github.com/dengji/dengji/sync"
)

// TestAPI_RecordContract is the regression test of issue #9 item 1: one
// record poisoned a district. Each change that breaks the record contract
// is refused on its own, the rest of the batch is applied, and a new
// device's pull, the statistics and the duplicate check work afterwards.
func TestAPI_RecordContract(t *testing.T) {
	s := startValidatingServer(t)
	li := s.login(t, "li", "li-password", "phone-1")
	admin := s.login(t, "admin", "admin-pass", "")
	thousand := make([]string, 1000)
	for i := range thousand {
		thousand[i] = fmt.Sprintf(`"x%04d":"1"`, i)
	}
	cases := []struct {
		name, set, code string
	}{
		{"good", `"name":"李碧辉","birth_date":"1960-01-01"`, ""},
		{"deep unknown field", `"name":"王雄","birth_date":"1960-01-01","junk":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999), model.CodeUnknownField},
		{"NUL in the name", `"name":"黄\u0000金","birth_date":"1960-01-01"`, model.CodeControlChar},
		{"ANSI escape in the name", `"name":"\u001b[31m黄金\u001b[0m","birth_date":"1960-01-01"`, model.CodeControlChar},
		{"invalid UTF-8", "\"name\":\"\xff\xfe黄金\",\"birth_date\":\"1960-01-01\"", model.CodeInvalidUTF8},
		{"lone surrogate", `"name":"\ud800","birth_date":"1960-01-01"`, model.CodeInvalidUTF8},
		// The sync layer refuses a change setting more than dsync.MaxFields
		// fields before the model sees it (invalid_change); checkResult
		// accepts either refusal.
		{"1,000 unknown fields", `"name":"黄金","birth_date":"1960-01-01",` + strings.Join(thousand, ","), model.CodeTooManyFields},
		{"nested object", `"name":{"a":{"b":"c"}},"birth_date":"1960-01-01"`, model.CodeFieldType},
		{"5 MB unknown field", `"name":"黄金","birth_date":"1960-01-01","junk":"` + strings.Repeat("x", 5<<20) + `"`, model.CodeUnknownField},
		{"1 MB name", `"name":"` + strings.Repeat("名", 1<<20/3) + `","birth_date":"1960-01-01"`, model.CodeTooLong},
		{"good too", `"name":"陈静","birth_date":"1971-05-06","category_note":"第一行\n第二行"`, ""},
	}
	// The 1,000 fields take the push decoder off its fast path, and the
	// general decoder refuses a whole body nested 9,999 deep (400): they go
	// in batches of their own.
	batches := [][]int{{0, 1, 2, 3, 4, 5, 7, 8, 9}, {6, 10}}
	hlc := dsync.MakeHLC(time.Now().UnixMilli(), 0)
	n := 0 // the device's counter
	for _, batch := range batches {
		var body bytes.Buffer
		body.WriteString(`{"changes":[`)
		for j, i := range batch {
			if j > 0 {
				body.WriteByte(',')
			}
			n++
			fmt.Fprintf(&body, `{"id":"phone-1-%d","device":"phone-1","n":%d,"record":"rec-%d","type":"registration","district":"430102001001","op":"create","set":{%s},"hlc":"%d"}`,
				i+1, n, i+1, cases[i].set, uint64(hlc))
		}
		body.WriteString(`]}`)
		var resp struct {
			dsync.PushResponse
			dsync.ErrorBody
		}
		code, answer := s.send(t, "POST", "/v1/push", li.AccessToken, "application/json", &body)
		json.Unmarshal(answer, &resp)
		if code != 200 || len(resp.Results) != len(batch) {
			t.Fatalf("push: %d, %d results, %+v", code, len(resp.Results), resp.Error)
		}
		for j, i := range batch {
			checkResult(t, cases[i].name, cases[i].code, resp.Results[j])
		}
	}

	// A new device pulls the district from the start: strict JSON, both records.
	fresh := s.login(t, "li", "li-password", "phone-2")
	raw := rawBody(t, s, "GET", "/v1/pull?cursor=0", fresh.AccessToken)
	var page dsync.PullResponse
	if !utf8.Valid(raw) || !json.Valid(raw) || json.Unmarshal(raw, &page) != nil || len(page.Records) != 2 || page.More {
		t.Fatalf("fresh pull: %d records, more %v: %.300s", len(page.Records), page.More, raw)
	}
	if code := s.call(t, "GET", "/v1/export/stats", admin.AccessToken, nil, nil); code != 200 {
		t.Errorf("stats: %d", code)
	}
	if code := s.call(t, "POST", "/v1/admin/dedup", admin.AccessToken, nil, nil); code != 202 {
		t.Fatalf("dedup start: %d", code)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var st dedupjob.Status
		s.call(t, "GET", "/v1/admin/dedup", admin.AccessToken, nil, &st)
		if !st.Running && st.Last != nil {
			if st.Error != "" || st.Last.Records != 2 {
				t.Errorf("dedup: %+v", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the duplicate check did not finish")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startValidatingServer is startServer with the record model's validation,
// as dengji serve runs it.
func startValidatingServer(t *testing.T) *testServer {
	t.Helper()
	return startServerOn(t, bolttest.Open(t), func(c *api.Config) { c.Validator = store.ModelValidator(model.Rules{}) })
}

// checkResult checks a change was applied (code "") or refused with the
// issue code in its details.
func checkResult(t *testing.T, name, code string, r dsync.Result) {
	t.Helper()
	if code == "" {
		if r.Status != dsync.StatusApplied {
			t.Errorf("%s: %s %s %s", name, r.Status, r.Code, r.Reason)
		}
		return
	}
	var issues []model.Issue
	json.Unmarshal(r.Details, &issues)
	found := false
	for _, is := range issues {
		found = found || is.Code == code
	}
	if code == model.CodeTooManyFields && r.Status == dsync.StatusRejected && r.Code == dsync.CodeInvalidChange {
		return
	}
	if r.Status != dsync.StatusRejected || r.Code != dsync.CodeValidation || !found {
		t.Errorf("%s: %s %s, details %.300s; want rejected, validation, %s", name, r.Status, r.Code, r.Details, code)
	}
	if len(r.Details) > 4096 || len(r.Reason) > 4096 {
		t.Errorf("%s: an answer of %d + %d bytes", name, len(r.Details), len(r.Reason))
	}
}

func rawBody(t *testing.T, s *testServer, method, path, token string) []byte {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return b
}
