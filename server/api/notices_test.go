package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dengji/dengji/server/dedupjob"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// Bad input to the notice routes is refused with a stable code and a
// message naming the field, and changes nothing; a notice of another
// district is not found; a good answer is stored once.
func TestNotices_BadInput(t *testing.T) {
	s := startServer(t) // li: registrar of 430102001001
	addUser(t, s, "zhao", store.RoleRegistrar, "430102001002")
	n := dsync.Notice{ID: dedupjob.NoticeID("dup-1", "r-1"), Record: "r-1", District: "430102001001", Case: "dup-1",
		Strength: "auto", Status: "open", Message: "可能已在黄花社区登记", Created: time.Now()}
	if err := s.st.Update(context.Background(), func(tx store.Tx) error { return tx.PutNotice(&n) }); err != nil {
		t.Fatal(err)
	}
	li := s.login(t, "li", "li-password", "phone-1").AccessToken
	zhao := s.login(t, "zhao", "zhao-password", "phone-2").AccessToken
	type errBody struct {
		Error struct{ Code, Message string }
	}
	for _, tc := range []struct {
		name, method, path, token string
		body                      any
		code                      int
		want, field               string
	}{
		{"bad after", "GET", "/v1/notices?after=x", li, nil, 400, "bad_request", ""},
		{"bad limit", "GET", "/v1/notices?limit=0", li, nil, 400, "bad_request", ""},
		{"bad sync cursor", "POST", "/v1/sync?notices=-1", li,
			dsync.PushRequest{Changes: []dsync.Change{create("phone-1", "r-sync", "430102001001", 1)}}, 400, "bad_request", ""},
		{"bad answer", "POST", "/v1/notices/" + n.ID + "/answer", li, map[string]string{"answer": "maybe"}, 400, "bad_answer", "answer"},
		{"other without note", "POST", "/v1/notices/" + n.ID + "/answer", li, map[string]string{"answer": "other"}, 400, "bad_note", "note"},
		{"note too long", "POST", "/v1/notices/" + n.ID + "/answer", li,
			map[string]string{"answer": "different_person", "note": strings.Repeat("字", 501)}, 400, "bad_note", "note"},
		{"another district's", "POST", "/v1/notices/" + n.ID + "/answer", zhao, map[string]string{"answer": "different_person"}, 404, "not_found", ""},
		{"unknown", "POST", "/v1/notices/ntc-none/answer", li, map[string]string{"answer": "different_person"}, 404, "not_found", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var eb errBody
			if code := s.call(t, tc.method, tc.path, tc.token, tc.body, &eb); code != tc.code || eb.Error.Code != tc.want ||
				!strings.Contains(eb.Error.Message, tc.field) {
				t.Errorf("%d %+v, want %d %s naming %q", code, eb.Error, tc.code, tc.want, tc.field)
			}
		})
	}
	err := s.st.View(context.Background(), func(tx store.Tx) error {
		if _, err := tx.Record("r-sync"); err == nil {
			t.Error("a sync refused for its notices cursor stored its change")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var page dsync.NoticePage
	if code := s.call(t, "GET", "/v1/notices", li, nil, &page); code != 200 || len(page.Notices) != 1 ||
		page.Notices[0].Answer != nil || page.Notices[0].Seq != n.Seq || page.Cursor != n.Seq || page.More {
		t.Fatalf("after the refusals: %d %+v", code, page)
	}
	var got dsync.Notice
	if code := s.call(t, "POST", "/v1/notices/"+n.ID+"/answer", li,
		map[string]string{"answer": "different_person", "note": "本人说从未离开本村"}, &got); code != 200 ||
		got.Answer == nil || got.Answer.By != "li" || got.Answer.Device != "phone-1" || got.Seq <= n.Seq {
		t.Fatalf("answer: %d %+v", code, got)
	}
	if code := s.call(t, "GET", "/v1/notices", zhao, nil, &page); code != 200 || len(page.Notices) != 0 {
		t.Errorf("another district's registrar reads %d %+v", code, page)
	}
}
