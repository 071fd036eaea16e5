package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/dengji/dengji/client-sdk/mobile"
	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/store"
)

// An app drives the SDK through the gobind package: JSON in, JSON out, and
// errors whose message is a JSON object with a code.
func TestE2E_MobileBinding(t *testing.T) {
	s := startServer(t)
	s.addUser(t, "li", store.RoleRegistrar, "430102001001")
	secrets := keychain{}
	path := filepath.Join(s.dir, "app.db")
	d, err := mobile.Open(path, s.URL(), "2026-12-20", secrets)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Sync(); code(t, err) != "not_logged_in" {
		t.Fatalf("sync before login: %v", err)
	}
	must(t, d.Login("li", "li-password"))

	fields, _ := json.Marshal(registration(1))
	id, err := d.Create(model.TypeRegistration, "430102001001", fields)
	must(t, err)
	bad := registration(2)
	bad["id_number"], bad["birth_date"] = str(""), str("") // neither: refused
	badJSON, _ := json.Marshal(bad)
	_, err = d.Create(model.TypeRegistration, "430102001001", badJSON)
	var e struct {
		Code   string `json:"code"`
		Issues []struct{ Field, Code string }
	}
	if err == nil || json.Unmarshal([]byte(err.Error()), &e) != nil || e.Code != "validation" ||
		len(e.Issues) == 0 || e.Issues[0].Field != "id_number" {
		t.Fatalf("a registration without ID number or birth date must come back as a validation error with its issue: %v", err)
	}
	if _, err := d.Create(model.TypeRegistration, "430102001001", []byte(`[1]`)); code(t, err) != "bad_input" {
		t.Fatalf("fields not an object: %v", err)
	}
	must(t, d.Update(id, []byte(`{"voter_group":"第7选民小组"}`)))

	out, err := d.Sync()
	must(t, err)
	var rep struct {
		Pushed map[string]int `json:"pushed"`
	}
	if json.Unmarshal(out, &rep) != nil || rep.Pushed["applied"] != 2 {
		t.Fatalf("sync report %s", out)
	}
	if got := string(s.record(t, id).Values()["voter_group"]); got != `"第7选民小组"` {
		t.Fatalf("server voter_group %s", got)
	}
	var rec struct {
		ID      string                     `json:"id"`
		Deleted bool                       `json:"deleted"`
		Fields  map[string]json.RawMessage `json:"fields"`
	}
	got, err := d.Get(id)
	must(t, err)
	if json.Unmarshal(got, &rec) != nil || rec.ID != id || string(rec.Fields["voter_group"]) != `"第7选民小组"` {
		t.Fatalf("get %s", got)
	}
	must(t, d.Delete(id))
	if list, _ := d.List(model.TypeRegistration, "430102001001", false); string(list) != "[]" {
		t.Fatalf("a deleted record is left out of the list: %s", list)
	}
	if _, err := d.Get("no-such-record"); code(t, err) != "not_found" {
		t.Fatalf("get unknown: %v", err)
	}
	if n, _ := d.Pending(); n != 1 {
		t.Fatalf("pending %d, want the delete", n)
	}
	must(t, d.Close())
	file, _ := os.ReadFile(path)
	if secrets["refresh_token"] == "" || bytes.Contains(file, []byte(secrets["refresh_token"])) {
		t.Fatal("the refresh token belongs in the app's secret store, not the device file")
	}
}

// keychain stands for the platform's secret store.
type keychain map[string]string

func (k keychain) Secret(name string) (string, error) { return k[name], nil }

func (k keychain) SetSecret(name, value string) error {
	if value == "" {
		delete(k, name)
	} else {
		k[name] = value
	}
	return nil
}

// code is the code of a mobile error.
func code(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var e struct {
		Code string `json:"code"`
	}
	if json.Unmarshal([]byte(err.Error()), &e) != nil {
		t.Fatalf("error message is not JSON: %v", err)
	}
	return e.Code
}
