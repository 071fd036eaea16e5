package chaos

import (
	"slices"
	"testing"
)

// Delta debugging finds the two steps that together cause a failure among
// sixty, without trying every subset.
func TestShrink_FindsTheFailingPair(t *testing.T) {
	tries := 0
	fails := func(steps []int) bool {
		tries++
		return slices.Contains(steps, 7) && slices.Contains(steps, 41)
	}
	got := shrink(allSteps(&Plan{Ops: make([]Op, 60)}), fails)
	if !slices.Equal(got, []int{7, 41}) {
		t.Fatalf("shrunk to %v", got)
	}
	if tries > 200 {
		t.Fatalf("%d tries", tries)
	}
}

func TestSteps_FormatParse(t *testing.T) {
	steps := []int{0, 1, 2, 5, 9, 10}
	s := FormatSteps(steps)
	if s != "0-2,5,9-10" {
		t.Fatalf("format: %q", s)
	}
	back, err := ParseSteps(s)
	if err != nil || !slices.Equal(back, steps) {
		t.Fatalf("parse: %v %v", back, err)
	}
	for _, bad := range []string{"", "3-x", "5-2", "-1", "a"} {
		if _, err := ParseSteps(bad); err == nil {
			t.Errorf("ParseSteps(%q) accepted", bad)
		}
	}
}

func TestFaults_FormatParse(t *testing.T) {
	faults := map[int][]Fault{13: {FaultKill, FaultDelay}, 20: {}}
	s := FormatFaults(faults)
	if s != "13=kill_server+delay,20=none" {
		t.Fatalf("format: %q", s)
	}
	back, err := ParseFaults(s)
	if err != nil || len(back) != 2 || !slices.Equal(back[13], faults[13]) || len(back[20]) != 0 {
		t.Fatalf("parse: %v %v", back, err)
	}
	for _, bad := range []string{"13", "x=delay", "13=lightning"} {
		if _, err := ParseFaults(bad); err == nil {
			t.Errorf("ParseFaults(%q) accepted", bad)
		}
	}
}
