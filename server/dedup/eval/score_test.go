package eval

import (
	"math"
	"strings"
	"testing"
)

// A hand-made truth and export: persons A (r1, r2, r3: three true pairs)
// and B (r4, r5: one pair); r6 a twin of r4, r7 alone.
const handTruth = `ref,person,role,relation,related,noise
r1,A,home,,,
r2,A,migrant,,,no_id
r3,A,work_unit,,,lunar
r4,B,home,,,
r5,B,moved,,,homophone
r6,C,home,twin,B,
r7,D,home,,,
`

// Case 1 (auto) links r1 and r2: one true pair. Case 2 (review) links r4,
// r5 and r6: one true pair (r4-r5), two false (twins). r3 is missed.
const handExport = `cluster,ref,record_id,district,name,id_number,decision,score,status,keep
c1,r1,x1,d1,甲,,auto,30.00,open,0
c1,r2,x2,d2,甲,,auto,30.00,open,0
c2,r4,x4,d1,乙,,review,5.00,open,0
c2,r5,x5,d3,乙,,review,5.00,open,0
c2,r6,x6,d1,丙,,review,5.00,open,0
`

func TestScore_HandMade(t *testing.T) {
	s, err := Score(strings.NewReader(handTruth), strings.NewReader(handExport),
		ScoreOptions{Rows: 8, Imported: 7, Refused: map[string]bool{"r3": true}})
	if err != nil {
		t.Fatal(err)
	}
	near := func(name string, got, want float64) {
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if s.TruePairs != 4 || s.Pairs != 4 || s.TruePositives != 2 || s.AutoPairs != 1 || s.AutoTrue != 1 {
		t.Errorf("counts %+v", s)
	}
	near("precision", s.Precision, 2.0/4)
	near("recall", s.Recall, 2.0/4)
	near("auto precision", s.AutoPrecision, 1)
	near("review share", s.ReviewShare, 3.0/8)
	near("import rate", s.ImportRate, 7.0/8)
	if s.FalseLinks["review:twin"] != 2 || len(s.FalseLinks) != 1 { // r4-r6 and r5-r6: B and B's twin
		t.Errorf("false links %v", s.FalseLinks)
	}
	if x := s.ByTrait["refused"]; x.Pairs != 2 || x.Found != 0 {
		t.Errorf("refused %+v", x)
	}
	if x := s.ByTrait["role:migrant"]; x.Pairs != 2 || x.Found != 1 {
		t.Errorf("migrant %+v", x)
	}
}

func TestScore_TwoColumnTruthAndUnknownRefs(t *testing.T) {
	truth := "ref,person\nr1,A\nr2,A\nr3,B\n"
	exp := "cluster,ref,record_id,district,name,id_number,decision,score,status,keep\n" +
		"c1,r1,x,d,n,,auto,1,open,0\nc1,zz,y,d,n,,auto,1,open,0\n"
	s, err := Score(strings.NewReader(truth), strings.NewReader(exp), ScoreOptions{Imported: -1})
	if err != nil {
		t.Fatal(err)
	}
	if s.Rows != 3 || s.TruePairs != 1 || s.Pairs != 1 || s.TruePositives != 0 || s.UnknownRefs != 1 || s.ImportRate != -1 {
		t.Errorf("%+v", s)
	}
}

func TestScore_ErrFormat(t *testing.T) {
	if _, err := Score(strings.NewReader("a,b\n"), strings.NewReader(handExport), ScoreOptions{}); err == nil {
		t.Error("truth without ref,person: no error")
	}
	if _, err := Score(strings.NewReader(handTruth), strings.NewReader("x,y\n"), ScoreOptions{}); err == nil {
		t.Error("export without cluster,ref,decision: no error")
	}
}
