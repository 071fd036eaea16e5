package lunar

import "testing"

func TestToSolar(t *testing.T) {
	cases := []struct{ ly, lm, ld, sy, sm, sd int }{
		{1990, 1, 1, 1990, 1, 27},
		{2000, 1, 1, 2000, 2, 5},
		{1900, 1, 1, 1900, 1, 31},
		{2024, 1, 1, 2024, 2, 10},
		{2023, 8, 15, 2023, 9, 29}, // mid-autumn
		{1985, 5, 5, 1985, 6, 22},  // dragon boat
		{2100, 1, 1, 2100, 2, 9},
	}
	for _, c := range cases {
		sy, sm, sd, ok := ToSolar(c.ly, c.lm, c.ld)
		if !ok || sy != c.sy || sm != c.sm || sd != c.sd {
			t.Errorf("ToSolar(%d-%d-%d) = %d-%d-%d %v, want %d-%d-%d", c.ly, c.lm, c.ld, sy, sm, sd, ok, c.sy, c.sm, c.sd)
		}
		ly, lm, ld, leap, ok := FromSolar(c.sy, c.sm, c.sd)
		if !ok || leap || ly != c.ly || lm != c.lm || ld != c.ld {
			t.Errorf("FromSolar(%d-%d-%d) = %d-%d-%d leap=%v", c.sy, c.sm, c.sd, ly, lm, ld, leap)
		}
	}
	if _, _, _, ok := ToSolar(1899, 1, 1); ok {
		t.Error("1899 accepted")
	}
	if _, _, _, ok := ToSolar(2000, 1, 31); ok {
		t.Error("lunar day 31 accepted")
	}
	// 2023 had a leap second month: solar 2023-04-01 is leap 2-11.
	if ly, lm, ld, leap, ok := FromSolar(2023, 4, 1); !ok || !leap || ly != 2023 || lm != 2 || ld != 11 {
		t.Errorf("FromSolar(2023-04-01) = %d-%d-%d leap=%v", ly, lm, ld, leap)
	}
}
