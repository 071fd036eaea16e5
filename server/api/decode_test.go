package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	dsync "github.com/dengji/dengji/sync"
)

// A body that does not decode is refused with the field named and what it
// should hold, in Chinese then English, and in details for programs.
func TestDecode_ErrNamesTheField(t *testing.T) {
	s := startServer(t)
	admin := s.login(t, "admin", "admin-pass", "")
	for _, tc := range []struct {
		path, body, field, words string
	}{
		{"/v1/users", `{"name":1,"role":"admin"}`, "name", "field name: expected a string, got number"},
		{"/v1/users", `{"name":"zhao","role":"registrar","districts":[430102]}`, "districts", "field districts: expected a string, got number"},
		{"/v1/users", `{"name":"zhao","rolle":"admin"}`, "rolle", "unknown field rolle"},
		{"/v1/conflicts/status", `{"ids":"c-1"}`, "ids", "field ids: expected an array, got string"},
		{"/v1/users", `{"name":"zhao",`, "", "cut short"},
	} {
		code, body := s.send(t, "POST", tc.path, admin.AccessToken, "application/json", strings.NewReader(tc.body))
		var eb dsync.ErrorBody
		json.Unmarshal(body, &eb)
		var d struct{ Field string }
		json.Unmarshal(eb.Error.Details, &d)
		if code != 400 || eb.Error.Code != "bad_request" || !strings.Contains(eb.Error.Message, tc.words) ||
			!strings.HasPrefix(eb.Error.Message, "请求格式错误：") || d.Field != tc.field {
			t.Errorf("%s %s: %d %s", tc.path, tc.body, code, body)
		}
	}
}
