package dedup_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/dengji/dengji/server/dedup"
	"github.com/dengji/dengji/server/dedup/gen"
)

// splitRoll is a generated roll with a crowd of namesakes: n men named 张伟
// born on one day in one city, each in another town, with neither an ID
// number nor a phone. Every key of theirs (name and year, date and surname,
// date and given name, name and city) makes one block of them all. Among
// them is one man registered twice, in two districts, at one address: a and
// b, who share no key outside the crowd's blocks.
func splitRoll(t *testing.T, n int) (roll, crowd []dedup.Record, a, b dedup.Record) {
	t.Helper()
	roll, _ = gen.Generate(gen.DefaultConfig(4000, 7))
	counties := []string{"和平", "沈河", "大东", "皇姑", "铁西", "苏家屯", "浑南", "于洪"}
	towns := []string{"新华", "长白", "南湖", "北站", "滨河", "五里"}
	mk := func(id, district, addr string) dedup.Record {
		return dedup.Record{ID: id, District: district, Name: "张伟", Gender: "男", BirthDate: "1980-03-05",
			HouseholdAddress: addr}
	}
	for i := range n {
		addr := fmt.Sprintf("辽宁省沈阳市%s区%s街道光明路%d号", counties[i%len(counties)], towns[i/len(counties)%len(towns)], i+1)
		crowd = append(crowd, mk(fmt.Sprint("crowd", i), "210102001001", addr))
	}
	home := "辽宁省沈阳市法库县依牛堡子镇三合村5组12号"
	return roll, crowd, mk("twice-a", "210124101201", home), mk("twice-b", "210106001003", home)
}

// together reports whether a case of res holds both records.
func together(res *dedup.Result, a, b string) bool {
	for _, c := range res.Clusters {
		if slices.Contains(c.Records, a) && slices.Contains(c.Records, b) {
			return true
		}
	}
	return false
}

// A block larger than MaxBlock is not skipped but split by a further key,
// here the household address down to the town, so that the one true pair
// in it is still compared and proposed.
func TestRun_SplitsOversizedBlock(t *testing.T) {
	roll, crowd, a, b := splitRoll(t, 40)
	recs := slices.Concat(roll, crowd, []dedup.Record{a, b})
	opt := dedup.DefaultOptions()
	opt.MaxBlock = 30 // the crowd and the pair: 42 in each of their blocks
	res, _, err := dedup.Run(recs, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.SplitBlocks < 4 {
		t.Errorf("%d blocks split, want the crowd's four at least", res.Stats.SplitBlocks)
	}
	if !together(res, a.ID, b.ID) {
		t.Fatalf("the pair in the oversized blocks is not proposed (stats %+v)", res.Stats)
	}
	for _, c := range res.Clusters {
		for _, r := range c.Records {
			if slices.Contains(c.Records, a.ID) && r != a.ID && r != b.ID {
				t.Errorf("the pair's case holds %s too: %v", r, c.Records)
			}
		}
	}
}

// Incremental runs split as the full run does: a record matched against an
// index whose block it would make too large meets its pair in a sub-block,
// whether the index was built large (a full run, Rebuild) or grew large by
// Add, and the pairs proposed are the full run's.
func TestMatch_SplitBlocksAsTheFullRun(t *testing.T) {
	roll, crowd, a, b := splitRoll(t, 40)
	opt := dedup.DefaultOptions()
	opt.MaxBlock = 30
	opt.Workers = 1
	full, _, err := dedup.Run(slices.Concat(roll, crowd, []dedup.Record{a, b}), opt)
	if err != nil {
		t.Fatal(err)
	}
	if !together(full, a.ID, b.ID) {
		t.Fatal("the full run does not propose the pair")
	}
	want := pairsWith(full, b.ID)

	t.Run("IndexLarge", func(t *testing.T) {
		res, ix, err := dedup.Run(slices.Concat(roll, crowd, []dedup.Record{a}), opt)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ix.Match([]dedup.Record{b})
		if err != nil {
			t.Fatal(err)
		}
		if got := pairsWith(m, b.ID); !slices.Equal(got, want) {
			t.Fatalf("Match proposes %v, the full run %v", got, want)
		}
		if m.Stats.SplitBlocks < 4 {
			t.Errorf("Match split %d blocks, want 4 at least", m.Stats.SplitBlocks)
		}
		var clusters [][]string
		for _, c := range res.Clusters {
			if c.Decision == dedup.Auto {
				clusters = append(clusters, c.Records)
			}
		}
		re, err := dedup.Rebuild(slices.Concat(roll, crowd, []dedup.Record{a}), ix.Weights(), clusters, opt)
		if err != nil {
			t.Fatal(err)
		}
		m, err = re.Match([]dedup.Record{b})
		if err != nil {
			t.Fatal(err)
		}
		if got := pairsWith(m, b.ID); !slices.Equal(got, want) {
			t.Fatalf("a rebuilt index proposes %v, the full run %v", got, want)
		}
	})
	t.Run("IndexGrownByAdd", func(t *testing.T) {
		// 25 of the crowd and a: blocks of 26, compared whole; Add brings
		// them to 41, past MaxBlock, and must split them for b to meet a.
		_, ix, err := dedup.Run(slices.Concat(roll, crowd[:25], []dedup.Record{a}), opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, batch := range [][]dedup.Record{crowd[25:28], crowd[28:]} {
			if _, err := ix.Add(batch); err != nil {
				t.Fatal(err)
			}
		}
		m, err := ix.Match([]dedup.Record{b})
		if err != nil {
			t.Fatal(err)
		}
		if got := pairsWith(m, b.ID); !slices.Equal(got, want) {
			t.Fatalf("Match after Add proposes %v, the full run %v", got, want)
		}
	})
}

// pairsWith lists the records res puts in a case with id, and how.
func pairsWith(res *dedup.Result, id string) []string {
	var out []string
	for _, c := range res.Clusters {
		if !slices.Contains(c.Records, id) {
			continue
		}
		for _, r := range c.Records {
			if r != id {
				out = append(out, r+" "+string(c.Decision))
			}
		}
	}
	slices.Sort(out)
	return out
}
