package main

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/dengji/dengji/server/chaos"
)

func TestMain(m *testing.M) {
	chaos.ServeIfChild(chaos.OpenAny) // a chaos run started this binary as its server
	os.Exit(m.Run())
}

func TestChaos_RunsAndReports(t *testing.T) {
	out, err := runCLI(t, "chaos", "--runs", "2", "--seed", "3", "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, `"Runs":2`) || !strings.Contains(out, `"Edits":`) {
		t.Fatalf("figures: %s", out)
	}
	if _, err := runCLI(t, "chaos", "--runs", "0"); !errors.Is(err, errUsage) {
		t.Fatalf("--runs 0: %v", err)
	}
	if _, err := runCLI(t, "chaos", "--only", "3-x"); !errors.Is(err, errUsage) {
		t.Fatalf("--only 3-x: %v", err)
	}
}
