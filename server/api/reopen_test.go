package api_test

import (
	"testing"

	dsync "github.com/dengji/dengji/sync"
)

// A coordinator resolves a conflict, reads the record's history, and
// reopens the decision with a reason (none is refused); an admin edits a
// user's display name and scope.
func TestReopen_ConflictHistoryAndUserEdit(t *testing.T) {
	s := startServer(t)
	li := s.login(t, "li", "li-password", "phone-1")
	wang := s.login(t, "wang", "wang-password", "")
	id := makeConflict(t, s, li.AccessToken)
	if code := s.call(t, "POST", "/v1/conflicts/"+id+"/resolve", wang.AccessToken, map[string]string{"choice": "other"}, nil); code != 200 {
		t.Fatalf("resolve: %d", code)
	}
	var hist struct {
		Record  string
		Changes []struct {
			Seq    uint64
			Change dsync.Change
		}
	}
	if code := s.call(t, "GET", "/v1/records/r-c/history", wang.AccessToken, nil, &hist); code != 200 || len(hist.Changes) != 4 ||
		hist.Changes[0].Change.Op != dsync.OpCreate || hist.Changes[3].Change.Author != "wang" {
		t.Fatalf("history: %d %+v", code, hist)
	}
	var eb dsync.ErrorBody
	if code := s.call(t, "POST", "/v1/conflicts/"+id+"/reopen", wang.AccessToken, map[string]string{}, &eb); code != 400 || eb.Error.Code != "bad_reason" {
		t.Fatalf("reopen without a reason: %d %+v", code, eb)
	}
	var cf dsync.Conflict
	if code := s.call(t, "POST", "/v1/conflicts/"+id+"/reopen", wang.AccessToken, map[string]string{"reason": "选错了"}, &cf); code != 200 ||
		cf.Status != dsync.ConflictOpen {
		t.Fatalf("reopen: %d %+v", code, cf)
	}
	if code := s.call(t, "POST", "/v1/conflicts/"+id+"/reopen", wang.AccessToken, map[string]string{"reason": "again"}, &eb); code != 409 || eb.Error.Code != "not_decided" {
		t.Fatalf("reopen an open conflict: %d %+v", code, eb)
	}
	admin := s.login(t, "admin", "admin-pass", "")
	var u struct {
		Name      string
		Districts []string
	}
	if code := s.call(t, "PATCH", "/v1/users/wang", admin.AccessToken, map[string]any{"districts": []string{"430102001"}, "full_name": "王组长"}, &u); code != 200 ||
		len(u.Districts) != 1 || u.Districts[0] != "430102001" {
		t.Fatalf("edit user: %d %+v", code, u)
	}
}
