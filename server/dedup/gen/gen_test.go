package gen

import (
	"slices"
	"testing"
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
