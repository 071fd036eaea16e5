package api_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	dsync "github.com/dengji/dengji/sync"
)

// A batch sent as columns (?format=col1) is applied as the same changes
// one after another would be; columns that do not line up are refused,
// the column named.
func TestAPI_PushColumns(t *testing.T) {
	s := startServer(t)
	li := s.login(t, "li", "li-password", "phone-1")
	chs := []dsync.Change{create("phone-1", "r1", "430102001001", 1), create("phone-1", "r2", "430104001001", 2),
		create("phone-1", "r3", "430102001001", 3)}
	body := dsync.AppendColumns(nil, chs)
	code, resp := s.send(t, "POST", "/v1/push?format=col1", li.AccessToken, "application/json", bytes.NewReader(body))
	var pr dsync.PushResponse
	json.Unmarshal(resp, &pr)
	if code != 200 || len(pr.Results) != 3 || pr.Results[0].Status != dsync.StatusApplied ||
		pr.Results[1].Code != dsync.CodeOutOfScope || pr.Results[2].Status != dsync.StatusApplied || pr.Results[2].Change != "phone-1-3" {
		t.Fatalf("%d %s", code, resp)
	}
	var page dsync.PullResponse
	if code := s.call(t, "GET", "/v1/pull", li.AccessToken, nil, &page); code != 200 || len(page.Records) != 2 {
		t.Fatalf("pull: %d, %d records", code, len(page.Records))
	}
	bad := bytes.Replace(body, []byte(`"name":{"v":[`), []byte(`"name":{"v":["x",`), 1) // four names for three changes
	code, resp = s.send(t, "POST", "/v1/push?format=col1", li.AccessToken, "application/json", bytes.NewReader(bad))
	var eb dsync.ErrorBody
	json.Unmarshal(resp, &eb)
	if code != 400 || eb.Error.Code != "bad_request" || !strings.Contains(eb.Error.Message, "set.name") {
		t.Fatalf("misaligned columns: %d %s\n%s", code, resp, bad)
	}
}
