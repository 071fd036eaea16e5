package roll_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/dengji/dengji/server/roll"
	"github.com/dengji/dengji/server/store"
)

// The posted roll shows the birth year and month, never the full date
// beside the masked ID number.
func TestExportRoll_PostedShowsBirthMonth(t *testing.T) {
	st, _ := rollFixture(t)
	rows := exportCSV(t, st, roll.RollOptions{District: "430102001001", Posted: true})
	months := column(rows, "出生年月")
	if len(months) != 5 || months[0] != "1981-01" {
		t.Fatalf("birth months %q", months)
	}
	var buf bytes.Buffer
	roll.ExportRoll(context.Background(), st, &buf, roll.RollOptions{District: "430102001001", Posted: true})
	if strings.Contains(buf.String(), "1981-01-01") || strings.Contains(buf.String(), "出生日期") {
		t.Fatal("the posted roll shows a full birth date")
	}
	office := exportCSV(t, st, roll.RollOptions{District: "430102001001"})
	if column(office, "出生日期")[0] != "1981-01-01" {
		t.Fatal("the office roll lost the birth date")
	}
}

// Statistics give the registration rate against the population imported
// with the districts (where one is), rolled up over the districts that
// state one, and the duplicate cases found and resolved, each case once per
// unit.
func TestComputeStats_RateAndDuplicates(t *testing.T) {
	st, _ := rollFixture(t)
	ctx := context.Background()
	rep, err := roll.ImportDistricts(ctx, st, strings.NewReader("代码,名称,类型,上级,人口\n"+
		"430102001001,水塘垸村,村,430102001,\"1,000\"\n430102001002,黄花社区,社区,430102001,\n430102002001,东湖村,村,430102002,abc\n"), roll.Options{})
	if err != nil || rep.Rejected != 1 || rep.Errors[0].Code != roll.CodeDistrictPopulation || rep.Errors[0].Column != "人口" {
		t.Fatalf("import: %+v %v", rep, err)
	}
	err = st.Update(ctx, func(tx store.Tx) error {
		for _, c := range []store.DupCase{
			{ID: "dup-1", Status: store.DupOpen, Members: []store.DupMember{{Record: "r1", District: "430102001001"}, {Record: "r2", District: "430102001002"}}},
			{ID: "dup-2", Status: store.DupConfirmed, Members: []store.DupMember{{Record: "r3", District: "430102001001"}, {Record: "r4", District: "430102002001"}}},
			{ID: "dup-3", Status: store.DupRejected, Members: []store.DupMember{{Record: "r5", District: "430102002001"}, {Record: "r6", District: "430102002001"}}},
		} {
			if err := tx.PutDupCase(&c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := roll.ComputeStats(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	units := map[string]roll.Unit{}
	for _, u := range s.Units {
		units[u.Level+":"+u.Code] = u
	}
	d1, d2 := units["district:430102001001"], units["district:430102001002"]
	if d1.Population != 1000 || d1.RegistrationRate != 0.005 || d2.Population != 0 || d2.RegistrationRate != 0 {
		t.Fatalf("rates: %+v / %+v", d1, d2)
	}
	// The town's rate is over the district that states a population only.
	if town := units["town:430102001"]; town.Population != 1000 || town.RegistrationRate != d1.RegistrationRate {
		t.Fatalf("town %+v", town)
	}
	for unit, want := range map[string]roll.DupCounts{
		"district:430102001001": {Found: 2, Open: 1, Confirmed: 1},
		"district:430102002001": {Found: 2, Confirmed: 1, Rejected: 1},
		"town:430102001":        {Found: 2, Open: 1, Confirmed: 1}, // dup-1 has two members there: once
		"county:430102":         {Found: 3, Open: 1, Confirmed: 1, Rejected: 1},
		"total:":                {Found: 3, Open: 1, Confirmed: 1, Rejected: 1},
	} {
		if got := units[unit].Duplicates; got != want {
			t.Errorf("%s duplicates %+v, want %+v", unit, got, want)
		}
	}
	var buf bytes.Buffer
	if err := s.WriteCSV(&buf, true); err != nil {
		t.Fatal(err)
	}
	rows, _ := csv.NewReader(bytes.NewReader(buf.Bytes()[3:])).ReadAll()
	if got := column(rows, "Registration rate"); got[0] != "0.50%" {
		t.Fatalf("rate column %q", got)
	}
	if got := column(rows, "Duplicates resolved"); got[len(got)-1] != "2" {
		t.Fatalf("resolved column %q", got)
	}
}
