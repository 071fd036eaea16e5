package mobile_test

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/dengji/dengji/client-sdk/mobile"
)

// The app's list screen pages through summaries, and finds a voter by the
// pinyin initials of the name, offline.
func TestDevice_ListSummaries(t *testing.T) {
	dev, err := mobile.Open(filepath.Join(t.TempDir(), "device.db"), "http://127.0.0.1:1", "2026-12-20", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	var ids []string
	for _, name := range []string{"李碧辉", "梁峻青", "王雄"} {
		id, err := dev.Create("registration", "430102001001",
			[]byte(`{"name":"`+name+`","birth_date":"1960-01-01","household_address":"水塘垸3号"}`))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	type page struct {
		Summaries []struct {
			ID, Name, Initials, HouseholdAddress string
		} `json:"summaries"`
		Next string `json:"next"`
	}
	var got []string
	for after := ""; ; {
		b, err := dev.ListSummaries("registration", "", after, 2)
		if err != nil {
			t.Fatal(err)
		}
		var p page
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		for _, s := range p.Summaries {
			got = append(got, s.ID+" "+s.Name+" "+s.Initials)
		}
		if after = p.Next; after == "" {
			break
		}
	}
	want := []string{ids[0] + " 李碧辉 lbh", ids[1] + " 梁峻青 ljq", ids[2] + " 王雄 wx"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("summaries %q, want %q", got, want)
	}
	b, err := dev.ListSummaries("migrant_contact", "", "", 10)
	if err != nil || string(b) != `{"summaries":[]}` {
		t.Fatalf("no contact records: %s %v", b, err)
	}
}
