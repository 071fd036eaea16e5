package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/election"
	"github.com/dengji/dengji/server/store"
)

func TestElection_SetShowAudit(t *testing.T) {
	dir := t.TempDir()
	if _, err := runCLI(t, "election", "show", "--data", dir); err == nil {
		t.Fatal("show without data must fail")
	}
	out, err := runCLI(t, "election", "set", "--name", "2026年县乡人大换届选举", "--day", "2026-12-20",
		"--registration-deadline", "2026-11-20", "--list-deadline", "2026-11-30", "--data", dir)
	if err != nil || !strings.Contains(out, "election saved") {
		t.Fatalf("set: %v\n%s", err, out)
	}
	// Only what is given changes.
	if out, err = runCLI(t, "election", "set", "--day", "2026-12-21", "--data", dir); err != nil {
		t.Fatalf("set the day: %v\n%s", err, out)
	}
	out, err = runCLI(t, "election", "show", "--json", "--data", dir)
	var e model.Election
	if err != nil || json.Unmarshal([]byte(out), &e) != nil {
		t.Fatalf("show: %v\n%s", err, out)
	}
	want := model.Election{Name: "2026年县乡人大换届选举", Day: "2026-12-21", RegistrationDeadline: "2026-11-20", ListDeadline: "2026-11-30"}
	if e != want {
		t.Fatalf("stored %+v, want %+v", e, want)
	}
	// A refused setting names its field and changes nothing.
	_, err = runCLI(t, "election", "set", "--list-deadline", "2026-12-25", "--data", dir)
	if !errors.Is(err, election.ErrInvalid) || !strings.Contains(err.Error(), "list_deadline") {
		t.Fatalf("a list deadline after election day: %v", err)
	}
	if out, _ := runCLI(t, "election", "show", "--data", dir); !strings.Contains(out, "2026-11-30") {
		t.Fatalf("a refused set changed the election:\n%s", out)
	}
	out, err = runCLI(t, "audit", "list", "--json", "--data", dir)
	if err != nil || strings.Count(out, `"election_changed"`) != 2 {
		t.Fatalf("two changes, two audit entries: %v\n%s", err, out)
	}
	if _, err := runCLI(t, "election", "set", "--data", dir); !errors.Is(err, errUsage) {
		t.Fatalf("set without a flag: %v", err)
	}
}

// serve's --election-day seeds an election only when none is stored.
func TestElection_ServeFlagSeedsOnly(t *testing.T) {
	dir := t.TempDir()
	err := withStore(dir, func(st store.Store) error {
		ctx := context.Background()
		e, err := loadElection(ctx, st, "2026-12-20")
		if err != nil || e.Day != "2026-12-20" || e.Name == "" {
			t.Fatalf("seeded: %+v %v", e, err)
		}
		if e, err = loadElection(ctx, st, "2027-01-05"); err != nil || e.Day != "2026-12-20" {
			t.Fatalf("a stored election must win over the flag: %+v %v", e, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
