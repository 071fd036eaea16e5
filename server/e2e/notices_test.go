package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	sdk "github.com/dengji/dengji/client-sdk"
	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/api"
	"github.com/dengji/dengji/server/dedupjob"
	"github.com/dengji/dengji/server/roll"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// A registrar in one district registers a voter already registered in
// another: within seconds continuous matching makes the case; the
// registrar's next sync brings a notice naming the other district and
// nothing else of the other registration; the registrar records what the
// voter said, and the other district's coordinator reads it with the case.
func TestE2E_DuplicateNoticedAtTheDoor(t *testing.T) {
	const here, there = "430102001001", "430102001002"
	s := startServerWith(t, func(c *api.Config) { c.DedupEvery = 50 * time.Millisecond })
	if _, err := roll.ImportDistricts(ctx, s.st, strings.NewReader(here+",水塘垸村,村,430102001\n"+
		there+",黄花社区,社区,430102001\n"), roll.Options{Author: "admin", Format: roll.FormatCSV}); err != nil {
		t.Fatal(err)
	}
	s.addUser(t, "li", store.RoleRegistrar, here)
	s.addUser(t, "zhao", store.RoleRegistrar, there)
	s.addUser(t, "sun", store.RoleCoordinator, there)
	li, zhao := s.device(t, "li", s.URL(), sdk.Options{}), s.device(t, "zhao", s.URL(), sdk.Options{})

	// The roll of the other district, the voter among them, matched once.
	voter := registration(7)
	var theirs string
	for i := range 40 {
		fields := registration(uint64(100 + i))
		if i == 17 {
			fields = voter
		}
		id, err := zhao.Create(model.TypeRegistration, there, fields)
		must(t, err)
		if i == 17 {
			theirs = id
		}
	}
	mustSync(t, zhao)
	waitMatched(t, s)

	// The same voter at li's door, a different phone and voter group.
	mine := make(map[string]json.RawMessage, len(voter))
	for k, v := range voter {
		mine[k] = v
	}
	mine["phone"], mine["voter_group"], mine["ref"] = str("13912345678"), str("第9选民小组"), str("li-1")
	id, err := li.Create(model.TypeRegistration, here, mine)
	must(t, err)
	mustSync(t, li)
	pushed := time.Now()
	var c store.DupCase
	waitUntil(t, 10*time.Second, "the case", func() bool {
		var cs []store.DupCase
		s.st.View(ctx, func(tx store.Tx) error {
			var err error
			cs, err = tx.DupCases(store.DupCaseQuery{Districts: []string{here}})
			return err
		})
		for _, x := range cs {
			if slices.Contains(x.Records(), id) && slices.Contains(x.Records(), theirs) {
				c = x
				return true
			}
		}
		return false
	})
	t.Logf("the case %s (%s) %v after the push", c.ID, c.Decision, time.Since(pushed).Round(time.Millisecond))

	rep := mustSync(t, li)
	ns, err := li.Notices()
	must(t, err)
	if rep.Notices != 1 || len(ns) != 1 {
		t.Fatalf("li's sync brought %d notices, holds %+v", rep.Notices, ns)
	}
	n := ns[0]
	if n.Record != id || n.Case != c.ID || n.Strength != c.Decision || n.Status != "open" || n.District != here ||
		len(n.Elsewhere) != 1 || n.Elsewhere[0] != (dsync.NoticePlace{District: there, Name: "黄花社区"}) ||
		!strings.HasPrefix(n.Message, "可能已在黄花社区") || !strings.Contains(n.Message, "may already be registered in 黄花社区") {
		t.Errorf("notice: %+v", n)
	}
	raw, _ := json.Marshal(n)
	reg, err := model.RegistrationFromFields(voter)
	must(t, err)
	for _, v := range []string{theirs, reg.Name, reg.IDNumber, reg.Phone, reg.BirthDate, reg.HouseholdAddress, reg.Ref} {
		if strings.Contains(string(raw), v) {
			t.Errorf("the notice tells %q of the other registration: %s", v, raw)
		}
	}
	if rep := mustSync(t, zhao); rep.Notices != 0 {
		t.Errorf("the other district's registrar, whose registration is not new, got %d notices", rep.Notices)
	}
	if zn, _ := zhao.Notices(); len(zn) != 0 {
		t.Errorf("the other district's registrar, whose registration is not new, got notices: %+v", zn)
	}

	// What the voter said, recorded offline, sent at the next sync.
	const said = "本人说已在黄花社区登记，要求本处删除"
	if err := li.AnswerNotice(n.ID, "maybe", ""); err == nil {
		t.Error("a bad answer was kept")
	}
	must(t, li.AnswerNotice(n.ID, model.AnswerRegisteredThere, said))
	if ns, _ := li.Notices(); ns[0].Pending == nil || ns[0].Pending.Note != said {
		t.Fatalf("the answer is not pending: %+v", ns[0])
	}
	mustSync(t, li)
	if ns, _ := li.Notices(); ns[0].Pending != nil || ns[0].Answer == nil || ns[0].Answer.By != "li" {
		t.Fatalf("after the sync: %+v", ns[0])
	}

	// The other district's coordinator sees the note with the case.
	var list struct {
		Cases []struct {
			ID    string `json:"id"`
			Notes []struct {
				Record   string `json:"record"`
				District string `json:"district"`
				Answer   string `json:"answer"`
				Note     string `json:"note"`
				By       string `json:"by"`
			} `json:"notes"`
		} `json:"cases"`
	}
	getJSON(t, s.URL()+"/v1/duplicates?status=open", login(t, s.URL(), "sun"), &list)
	var notes []string
	for _, x := range list.Cases {
		for _, nt := range x.Notes {
			if x.ID == c.ID {
				notes = append(notes, nt.Record+" "+nt.District+" "+nt.Answer+" "+nt.By+" "+nt.Note)
			}
		}
	}
	if want := id + " " + here + " registered_there li " + said; !slices.Equal(notes, []string{want}) {
		t.Errorf("the coordinator of %s reads notes %q, want %q", there, notes, want)
	}
	// The audit entry names the answer, not the note.
	var entries []string
	s.st.View(ctx, func(tx store.Tx) error {
		es, err := tx.AuditEntries(0, 0)
		for _, e := range es {
			if e.Action == "notice_answered" {
				b, _ := json.Marshal(e)
				entries = append(entries, string(b))
			}
		}
		return err
	})
	if len(entries) != 1 || strings.Contains(entries[0], said) || !strings.Contains(entries[0], "registered_there") {
		t.Errorf("audit of the answer: %q", entries)
	}
}

// waitMatched waits until continuous matching has matched the whole feed.
func waitMatched(t *testing.T, s *server) {
	t.Helper()
	waitUntil(t, 20*time.Second, "continuous matching", func() bool {
		done := false
		s.st.View(ctx, func(tx store.Tx) error {
			high, err := tx.HighSeq()
			if err != nil {
				return err
			}
			v, err := tx.Setting(dedupjob.SettingSeq)
			done = err == nil && string(v) == strconv.FormatUint(high, 10)
			return nil
		})
		return done
	})
}

func waitUntil(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// login signs a user in over HTTP, with no device, and returns the token.
func login(t *testing.T, url, user string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": user, "password": user + "-password"})
	resp, err := http.Post(url+"/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tk struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tk); err != nil || resp.StatusCode != 200 {
		t.Fatalf("login %s: %d %v", user, resp.StatusCode, err)
	}
	return tk.AccessToken
}

func getJSON(t *testing.T, url, token string, out any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}
