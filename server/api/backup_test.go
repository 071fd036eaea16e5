package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/dengji/dengji/server/api"
	dsync "github.com/dengji/dengji/sync"
)

// Every answer names the generation; a push answer the feed's sequence
// after it; a push naming another generation is refused whole, nothing
// stored.
func TestBackup_GenerationHeaders(t *testing.T) {
	s := startServer(t)
	li := s.login(t, "li", "li-password", "phone-1")
	push := func(gen string, ch dsync.Change) (*http.Response, dsync.ErrorBody) {
		b, _ := json.Marshal(dsync.PushRequest{Changes: []dsync.Change{ch}})
		req, _ := http.NewRequest("POST", s.URL()+"/v1/push", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+li.AccessToken)
		if gen != "" {
			req.Header.Set(api.HeaderGeneration, gen)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var eb dsync.ErrorBody
		json.NewDecoder(resp.Body).Decode(&eb)
		return resp, eb
	}
	resp, _ := push("", create("phone-1", "r-1", "430102001001", 1))
	gen := resp.Header.Get(api.HeaderGeneration)
	if resp.StatusCode != 200 || gen == "" || resp.Header.Get(api.HeaderSeq) != "1" || resp.Header.Get(api.HeaderBackupSeq) != "0" {
		t.Fatalf("push: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = push(gen, create("phone-1", "r-2", "430102001001", 2))
	if resp.StatusCode != 200 || resp.Header.Get(api.HeaderSeq) != "2" {
		t.Fatalf("push naming the generation: %d %v", resp.StatusCode, resp.Header)
	}
	resp, eb := push("20200101-0000000000000000", create("phone-1", "r-3", "430102001001", 3))
	if resp.StatusCode != 409 || eb.Error.Code != "generation_changed" || resp.Header.Get(api.HeaderGeneration) != gen {
		t.Fatalf("push naming another generation: %d %+v", resp.StatusCode, eb)
	}
	code, body := s.send(t, "GET", "/v1/pull?cursor=0", li.AccessToken, "", nil)
	var page dsync.PullResponse
	json.Unmarshal(body, &page)
	if code != 200 || len(page.Records) != 2 {
		t.Fatalf("the refused push stored something: %d records", len(page.Records))
	}
	if n, _ := strconv.Atoi(resp.Header.Get(api.HeaderBackupSeq)); n != 0 {
		t.Fatalf("a watermark without backups: %d", n)
	}
}
