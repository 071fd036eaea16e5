package eval

import (
	"context"
	"os"
	"testing"
)

// TestProduct runs a small roll through the product path; it checks that
// the path completes and its figures agree with each other, not the
// quality targets (the engine is tuned elsewhere).
func TestProduct(t *testing.T) {
	res, err := Product(context.Background(), ProductConfig{Records: 5000, Seed: 3, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	PrintProduct(os.Stdout, res)
	s := res.Scores
	reg := res.Registrations
	if reg.Read != 5000 || reg.Imported+reg.Rejected != reg.Read || s.Rows != 5000 || s.Imported != reg.Imported {
		t.Errorf("import %+v, scores rows %d imported %d", reg, s.Rows, s.Imported)
	}
	if res.Districts.Read == 0 || s.TruePairs == 0 {
		t.Errorf("districts %+v, true pairs %d", res.Districts, s.TruePairs)
	}
	if s.TruePositives > s.Pairs || s.TruePositives > s.TruePairs || s.AutoTrue > s.AutoPairs || s.AutoPairs > s.Pairs {
		t.Errorf("inconsistent counts %+v", s)
	}
	if s.Pairs > 0 && s.Precision != float64(s.TruePositives)/float64(s.Pairs) {
		t.Errorf("precision %v", s.Precision)
	}
	if s.Recall != float64(s.TruePositives)/float64(s.TruePairs) {
		t.Errorf("recall %v", s.Recall)
	}
	if len(res.Stages) != 6 {
		t.Errorf("stages %+v", res.Stages)
	}
}

// BenchmarkProduct puts 100,000 rows (and, with DENGJI_EVAL_1M=1,
// 1,000,000) through the product path and reports the figures:
//
//	go test ./server/dedup/eval -run X -bench Product -benchtime 1x
func BenchmarkProduct(b *testing.B) {
	for _, n := range []int{100000, 1000000} {
		b.Run(sizeName(n), func(b *testing.B) {
			if n > 100000 && os.Getenv("DENGJI_EVAL_1M") == "" {
				b.Skip("DENGJI_EVAL_1M unset")
			}
			var res *ProductResult
			for b.Loop() {
				var err error
				if res, err = Product(context.Background(), ProductConfig{Records: n, Seed: 1, Dir: b.TempDir()}); err != nil {
					b.Fatal(err)
				}
			}
			s := res.Scores
			b.ReportMetric(s.Precision, "precision")
			b.ReportMetric(s.Recall, "recall")
			b.ReportMetric(s.AutoPrecision, "auto-precision")
			b.ReportMetric(100*s.ReviewShare, "review-%")
			b.ReportMetric(100*s.ImportRate, "imported-%")
			if testing.Verbose() {
				PrintProduct(os.Stdout, res)
			}
		})
	}
}

func sizeName(n int) string {
	if n%1000000 == 0 {
		return itoa(n/1000000) + "M"
	}
	return itoa(n/1000) + "k"
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
