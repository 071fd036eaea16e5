package gen

import (
	"slices"
	"testing"

	"github.com/dengji/dengji/model/idcard"
)

func TestGenerate_Deterministic(t *testing.T) {
	a, ta := Generate(DefaultConfig(2000, 7))
	b, tb := Generate(DefaultConfig(2000, 7))
	if len(a) != 2000 || !slices.Equal(a, b) || !slices.Equal(ta, tb) {
		t.Fatal("same seed gave different rolls")
	}
	for _, r := range a[:20] {
		t.Logf("%+v", r)
	}
}

func BenchmarkGenerate1M(b *testing.B) {
	for b.Loop() {
		Generate(DefaultConfig(1000000, 1))
	}
}

// Two persons never share a resident ID (duplicates of one person do).
func TestGenerate_IDsBelongToOnePerson(t *testing.T) {
	recs, truth := Generate(DefaultConfig(200000, 1))
	owner := map[string]string{}
	for i, r := range recs {
		if len(r.IDNumber) != 18 || r.IDNumber[0] > '9' {
			continue // blank, legacy, full-width
		}
		if o, ok := owner[r.IDNumber]; ok && o != truth[i] {
			// a mistyped ID fails its checksum, so it cannot be another's valid ID
			if !validID(r.IDNumber) {
				continue
			}
			t.Fatalf("ID %s given to persons %s and %s", r.IDNumber, o, truth[i])
		}
		owner[r.IDNumber] = truth[i]
	}
}

func validID(id string) bool {
	c, ok := idcard.CheckDigit(id[:17])
	return ok && c == id[17]
}
