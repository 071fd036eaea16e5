package dedup

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestNormalizeName(t *testing.T) {
	for in, want := range map[string]string{
		"买买提·艾力": "买买提艾力", "买买提•艾力": "买买提艾力", "买买提 艾力": "买买提艾力", "买买提-艾力": "买买提艾力",
		"張偉": "张伟", "李峯": "李峰", "王羣": "王群", "ＡＢＣ": "abc", "欧陽芳": "欧阳芳",
	} {
		if got := NormalizeName(in); got != want {
			t.Errorf("NormalizeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNamePinyin_Surnames(t *testing.T) {
	for in, want := range map[string]string{
		"曾伟": "zeng", "单雄": "shan", "仇亮": "qiu", "区华": "ou", "解放": "xie", "朴明": "piao",
		"查良": "zha", "盖文": "ge", "尉迟恭": "yuchi", "万俟卨": "moqi", "长孙无忌": "zhangsun",
		"乐平": "yue", "覃明": "qin", "翟丽": "zhai", "缪兰": "miao", "欧阳芳": "ouyang",
	} {
		if _, sur := NamePinyin(NormalizeName(in)); sur != want {
			t.Errorf("surname pinyin of %q = %q, want %q", in, sur, want)
		}
	}
	a, _ := NamePinyin("张伟")
	b, _ := NamePinyin("张玮")
	if a != b || a != "zhangwei" {
		t.Errorf("homophones: %q vs %q", a, b)
	}
}

func TestCompare_Levels(t *testing.T) {
	base := Record{Name: "张伟", Gender: "M", BirthDate: "1990-01-27", IDNumber: "110101199001271234",
		Phone: "13800000000", HouseholdAddress: "北京市东城区人民路1号"}
	fix := func(r Record) Record {
		id17 := r.IDNumber[:17]
		c := checkDigit(id17)
		r.IDNumber = id17 + string(c)
		return r
	}
	base = fix(base)
	mk := func(f func(*Record)) Record { r := base; f(&r); return r }
	cases := []struct {
		name  string
		b     Record
		field Field
		want  Level
	}{
		{"name exact", base, FieldName, LevelExact},
		{"name pinyin", mk(func(r *Record) { r.Name = "张玮" }), FieldName, LevelPinyin},
		{"name traditional", mk(func(r *Record) { r.Name = "張偉" }), FieldName, LevelExact},
		{"name disagree", mk(func(r *Record) { r.Name = "李娜" }), FieldName, LevelDisagree},
		{"name missing", mk(func(r *Record) { r.Name = "" }), FieldName, LevelMissing},
		{"birth lunar", mk(func(r *Record) { r.BirthDate = "1990-01-01" }), FieldBirth, LevelLunar},
		{"birth close", mk(func(r *Record) { r.BirthDate = "1990-01-28" }), FieldBirth, LevelClose},
		{"birth disagree", mk(func(r *Record) { r.BirthDate = "1970-05-05" }), FieldBirth, LevelDisagree},
		{"id legacy", mk(func(r *Record) { r.IDNumber = r.IDNumber[:6] + r.IDNumber[8:17] }), FieldID, LevelExact},
		{"id repaired", mk(func(r *Record) { b := []byte(r.IDNumber); b[15] = '9' + '0' - b[15] + 0; r.IDNumber = string(b) }), FieldID, LevelRepaired},
		{"id conflict", fix(mk(func(r *Record) { r.IDNumber = r.IDNumber[:14] + "999" + "0" })), FieldID, LevelConflict},
		{"phone close", mk(func(r *Record) { r.Phone = "13800000001" }), FieldPhone, LevelClose},
		{"address close", mk(func(r *Record) { r.HouseholdAddress = "北京市东城区人民路2号" }), FieldAddress, LevelClose},
		{"gender disagree", mk(func(r *Record) { r.Gender = "F" }), FieldGender, LevelDisagree},
	}
	for _, c := range cases {
		pa, pb := prepare(&base, true), prepare(&c.b, true)
		if got := compare(&pa, &pb, true)[c.field]; got != c.want {
			t.Errorf("%s: %s level %s, want %s", c.name, c.field, got, c.want)
		}
	}
}

func checkDigit(first17 string) byte {
	w := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	s := 0
	for i := range 17 {
		s += int(first17[i]-'0') * w[i]
	}
	return "10X98765432"[s%11]
}

func TestClusterer_NoChainingAcrossValidIDs(t *testing.T) {
	c := newClusterer(3, 6)
	c.vid[0], c.vid[2] = "A", "B"
	links := []pairLink{{a: 0, b: 1, score: 20, dec: Auto}, {a: 1, b: 2, score: 15, dec: Auto}}
	if d := clusterLinks(c, links); d != 1 {
		t.Fatalf("demoted %d, want 1", d)
	}
	if c.find(0) != c.find(1) || c.find(1) == c.find(2) {
		t.Fatal("record without ID chained two valid IDs into one cluster")
	}
}

func TestReconcile_KeepsDecisions(t *testing.T) {
	confirmed := Case{ID: "c1", Records: []string{"a", "b"}, Status: StatusConfirmed, Keep: "a"}
	rejected := Case{ID: "r1", Records: []string{"x", "y"}, Status: StatusRejected}
	open := Case{ID: "o1", Records: []string{"m", "n"}, Status: StatusOpen}
	prev := []Case{confirmed, rejected, open}
	proposed := []Case{
		{Records: []string{"a", "b"}, Decision: Auto},        // already confirmed
		{Records: []string{"x", "y"}, Decision: Auto},        // rejected: never again
		{Records: []string{"a", "b", "c"}, Decision: Review}, // new record joins the kept one
		{Records: []string{"m", "n"}, Decision: Review},      // same open case, same ID
	}
	for _, full := range []bool{true, false} {
		out := Reconcile(prev, proposed, full)
		byID := map[string]Case{}
		for _, c := range out {
			byID[c.ID] = c
			if slices.Equal(c.Records, []string{"x", "y"}) && c.Status == StatusOpen {
				t.Fatal("rejected pair proposed again")
			}
		}
		if !slices.Equal(byID["c1"].Records, confirmed.Records) || byID["c1"].Status != StatusConfirmed || byID["c1"].Keep != "a" {
			t.Fatalf("confirmed case changed: %+v", byID["c1"])
		}
		if byID["r1"].Status != StatusRejected {
			t.Fatal("rejected case lost")
		}
		if byID["o1"].Status != StatusOpen {
			t.Fatal("open case lost its ID")
		}
		if c, ok := byID[CaseID([]string{"a", "c"})]; !ok || c.Status != StatusOpen {
			t.Fatalf("new record not proposed against the kept record: %+v", out)
		}
	}
}

func TestNormalize_CleanInputIsKept(t *testing.T) {
	for _, s := range []string{"张伟", "買買提·艾力", "ABC", "ab c", "李峯", "x1", "欧阳芳", "北京市东城区人民路1号", "Ａ号", "\xff张"} {
		n := NormalizeName(s)
		if NormalizeName(n) != n || !nameNormal(n) {
			t.Errorf("NormalizeName(%q) = %q is not a fixed point", s, n)
		}
		a := NormalizeAddress(s)
		if NormalizeAddress(a) != a || !addressNormal(a) {
			t.Errorf("NormalizeAddress(%q) = %q is not a fixed point", s, a)
		}
	}
}

func TestIndexAdd_Accumulates(t *testing.T) {
	mk := func(id, name, birth, idn, phone string) Record {
		return Record{ID: id, Name: name, Gender: "M", BirthDate: birth, IDNumber: idn, Phone: phone,
			HouseholdAddress: "北京市东城区人民路" + id + "号"}
	}
	id1 := "11010119900127123"
	id1 += string(checkDigit(id1))
	var base []Record
	for i := range 50 {
		base = append(base, mk(fmt.Sprint("b", i), fmt.Sprint("路人", i), fmt.Sprintf("1970-01-%02d", 1+i%28), "", ""))
	}
	_, ix, err := Run(base, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	first := []Record{mk("n1", "欧阳建国", "1990-01-27", id1, "13800000000")}
	if _, err := ix.Add(first); err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 51 {
		t.Fatalf("Len %d after Add, want 51", ix.Len())
	}
	// a later batch meets the record added before it
	second := []Record{mk("n2", "歐陽建國", "1990-01-27", id1, "13800000000")}
	res, err := ix.Add(second)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Clusters) != 1 || !slices.Equal(res.Clusters[0].Records, []string{"n1", "n2"}) || res.Clusters[0].Decision != Auto {
		t.Fatalf("second batch not linked to the first: %+v", res.Clusters)
	}
	// Match (which does not add) sees both, and the cluster they form
	m, err := ix.Match([]Record{mk("n3", "欧阳建国", "1990-01-27", "", "13800000000")})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Clusters) != 1 || !slices.Equal(m.Clusters[0].Records, []string{"n1", "n2", "n3"}) {
		t.Fatalf("match against the accumulated index: %+v", m.Clusters)
	}
	// a record re-added under its ID replaces the indexed version
	moved := mk("n1", "张三", "1960-05-05", "", "")
	if _, err := ix.Add([]Record{moved}); err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 52 {
		t.Fatalf("Len %d after replacing, want 52", ix.Len())
	}
	m, _ = ix.Match([]Record{mk("n4", "欧阳建国", "1990-01-27", id1, "")})
	if len(m.Clusters) != 1 || !slices.Equal(m.Clusters[0].Records, []string{"n2", "n4"}) {
		t.Fatalf("replaced record still matched: %+v", m.Clusters)
	}
}

// A field no sampled pair has on both sides (here: no record has an ID)
// must not make weights NaN, which silently stopped every such pair linking.
func TestWeights_FiniteWhenAFieldIsNeverPresent(t *testing.T) {
	var base []Record
	for i := range 30 {
		base = append(base, Record{ID: fmt.Sprint(i), Name: fmt.Sprint("路人", i), BirthDate: "1970-01-01"})
	}
	_, ix, err := Run(base, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	a := Record{ID: "x", Name: "张伟", BirthDate: "1990-01-01", IDNumber: "A1234567", Phone: "13800000000"}
	l := ix.Explain(a, a)
	if math.IsNaN(l.Evidence.Total) || l.Decision != Auto {
		t.Fatalf("identical records: %+v", l)
	}
}

// The county is compared by the district code's first six digits, and
// weighs only where the addresses disagree (or one is missing); weights kept
// by a version that did not compare it give it no weight rather than NaN.
func TestCounty_Evidence(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want Level
	}{
		{"411522208216", "411522103206", LevelExact},
		{"411522208216", "4115221", LevelExact}, // a work unit numbered after the county
		{"411522208216", "411525103206", LevelClose},
		{"411522208216", "130633200229", LevelDisagree},
		{"411522208216", "", LevelMissing},
		{"411522208216", "41152", LevelMissing},
		{"4115x2208216", "411522103206", LevelMissing},
	} {
		ra, rb := Record{District: c.a}, Record{District: c.b}
		pa, pb := prepare(&ra, true), prepare(&rb, true)
		if got := compare(&pa, &pb, true)[FieldCounty]; got != c.want {
			t.Errorf("%q and %q: %s, want %s", c.a, c.b, got, c.want)
		}
	}

	var w Weights
	for f := range numFields {
		for l := range numLevels {
			w.M[f][l], w.U[f][l], w.CondU[f][l], w.SibU[f][l] = 0.5, 0.1, 0.1, 0.1
		}
	}
	w.U[FieldCounty][LevelExact] = 0.05
	st := recStat{name: 1, py: 1, birth: 1}
	var lv levels
	lv[FieldCounty], lv[FieldAddress] = LevelExact, LevelDisagree
	if got := w.fieldWeight(FieldCounty, lv, st, st, 100); got != math.Log2(0.5/0.05) {
		t.Errorf("same county, addresses disagree: weight %v, want log2(m/u)", got)
	}
	for _, addr := range []Level{LevelExact, LevelClose} {
		lv[FieldAddress] = addr
		if got := w.fieldWeight(FieldCounty, lv, st, st, 100); got != 0 {
			t.Errorf("same county, address %s: weight %v, want 0 (the address says it)", addr, got)
		}
	}
	lv[FieldAddress] = LevelMissing
	if got := w.fieldWeight(FieldCounty, lv, st, st, 100); got <= 0 {
		t.Errorf("same county, address missing: weight %v, want > 0", got)
	}
	// Training counts the county as scoring weighs it: not where the
	// addresses agree.
	var c counts
	lv[FieldAddress] = LevelExact
	c.add(lv)
	lv[FieldAddress] = LevelDisagree
	c.add(lv)
	if c[FieldCounty][LevelExact] != 1 || c[FieldAddress][LevelExact] != 1 {
		t.Errorf("counts of county %v, address %v: want the county counted once, where the addresses disagree",
			c[FieldCounty], c[FieldAddress])
	}
	lv[FieldAddress] = LevelMissing
	w.M[FieldCounty] = [numLevels]float64{} // weights from before the field
	if got := w.fieldWeight(FieldCounty, lv, st, st, 100); got != 0 {
		t.Errorf("weights without the county: weight %v, want 0", got)
	}
}

// The duplicates per record are estimated from the pairs sharing a valid ID
// number, scaled to every record; without enough valid IDs the run takes
// Options.DupRate.
func TestDupRate_FromSharedIDs(t *testing.T) {
	var recs []Record
	for i := range 2000 {
		id17 := fmt.Sprintf("110101%04d0101%03d", 1940+i/1000, i%1000)
		recs = append(recs, Record{ID: fmt.Sprint("r", i), Name: fmt.Sprint("路人", i), Gender: "M",
			BirthDate: id17[6:10] + "-01-01", IDNumber: id17 + string(checkDigit(id17))})
	}
	for i := range 100 { // 100 registered twice
		r := recs[i*7]
		r.ID = fmt.Sprint("d", i)
		recs = append(recs, r)
	}
	for i := range 400 { // and 400 without an ID number
		recs = append(recs, Record{ID: fmt.Sprint("n", i), Name: fmt.Sprint("无证", i), BirthDate: "1970-01-01"})
	}
	_, ix, err := Run(recs, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	// 2,100 valid IDs, 100 pairs: 2*100/2100 duplicates with a valid ID
	// each, times 2500/2100 for those without.
	if got, want := ix.Weights().DupRate, 2*100*2500/(2100.0*2100); math.Abs(got-want) > 1e-12 {
		t.Errorf("estimated duplicates per record %v, want %v", got, want)
	}
	if want := math.Log2(ix.Weights().DupRate / 2500); ix.prior != want {
		t.Errorf("prior %v, want %v", ix.prior, want)
	}

	opt := DefaultOptions()
	opt.IDChecksum = false
	if _, ix, err = Run(recs, opt); err != nil {
		t.Fatal(err)
	}
	if ix.Weights().DupRate != 0 || ix.prior != math.Log2(opt.DupRate/2500) {
		t.Errorf("IDs not checked: rate %v, prior %v; want 0 and Options.DupRate's", ix.Weights().DupRate, ix.prior)
	}
}

func TestDecode_MatchesUTF8(t *testing.T) {
	for _, s := range []string{"zhangwei", "北京市东城区", "a张b", "𠀀x", "é", "\xe5\x8c", "\xff"} {
		var buf [maxJaroLen]rune
		if got, want := decode(buf[:0], s), []rune(s); !slices.Equal(got, want) {
			t.Errorf("decode(%q) = %q, want %q", s, got, want)
		}
	}
}

// The directory finds every posting by its key, whatever its kind: a kind
// missing from kinds, or listed out of order, would send its keys to the
// wrong slots.
func TestDirectory_FindsEveryKey(t *testing.T) {
	var ps []prep
	for i := range 200 {
		id := fmt.Sprintf("1101011990%02d%02d12%d", 1+i%12, 1+i%28, i%10)
		if i%3 == 0 {
			id += string(checkDigit(id)) // valid; others fail the check and have repairs
		} else {
			id += "0"
		}
		r := Record{Name: fmt.Sprint("欧阳", i), Gender: "F", BirthDate: fmt.Sprintf("1990-%02d-%02d", 1+i%12, 1+i%28),
			IDNumber: id, Phone: fmt.Sprint(13800000000 + i), HouseholdAddress: fmt.Sprint("北京市东城区人民路", i, "号"),
			ResidenceAddress: fmt.Sprint("湖南省长沙市", i, "号")}
		ps = append(ps, prepare(&r, true))
	}
	opt := DefaultOptions()
	opt.SplitBlock = 2 // every block of two or more split, so sub-block keys are there too
	bi := buildBlocks(ps, opt)
	post, d := bi.post, bi.dir
	if d.bits == 0 {
		t.Fatalf("%d postings make a directory of kinds only", len(post))
	}
	seen := map[byte]bool{}
	for _, q := range post {
		seen[keyKind(q.h)] = true
		if !slices.Contains(d.lookup(post, q.h), q) {
			t.Fatalf("posting %+v (kind %c) not found", q, keyKind(q.h))
		}
	}
	if len(seen) != len(kinds) {
		t.Fatalf("the records made keys of %d kinds, want all %d", len(seen), len(kinds))
	}
}

// keptUnchanged's shortcut for ideographs answers what the Unicode tables
// answer, for every rune of the planes a roll is written in.
func TestKeptUnchanged_ShortcutIsExact(t *testing.T) {
	for r := rune(0); r < 0x30000; r++ {
		if keptUnchanged(r) != keptUnchangedSlow(r) {
			t.Fatalf("keptUnchanged(%U) = %v, the tables say %v", r, keptUnchanged(r), keptUnchangedSlow(r))
		}
	}
}

// sortBucket sorts as slices.SortFunc does, keys of every kind, with runs
// of equal keys.
func TestSortBucket_AsSortFunc(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 17, 1000, 100000} {
		p := make([]posting, n)
		for i := range p {
			h := rng.Uint64N(uint64(n/3+1)) * 0x9e3779b97f4a7c15 // repeats: blocks
			p[i] = posting{h&(1<<keyKindShift-1) | uint64(kinds[rng.IntN(len(kinds))])<<keyKindShift, rng.Int32N(1 << 20), tag(i)}
		}
		want := slices.Clone(p)
		slices.SortFunc(want, cmpPosting)
		sortBucket(p)
		for i := range p {
			if cmpPosting(p[i], want[i]) != 0 {
				t.Fatalf("%d postings: posting %d is %+v, want %+v", n, i, p[i], want[i])
			}
		}
	}
}

// collectPostings writes every record's keys, numbered from n0, in the
// order (key, record), across chunks of records and on two cores.
func TestCollectPostings_Sorted(t *testing.T) {
	var ps []prep
	for i := range 3*rangeChunk + 100 {
		r := Record{Name: fmt.Sprint("王", []string{"伟", "芳", "秀英"}[i%3]), Gender: "F",
			BirthDate: fmt.Sprintf("19%02d-%02d-%02d", 40+i%60, 1+i%12, 1+i%28), Phone: fmt.Sprint(13800000000 + i%5000),
			HouseholdAddress: fmt.Sprint("北京市东城区人民路", i%700, "号")}
		ps = append(ps, prepare(&r, true))
	}
	var want []posting
	for i := range ps {
		for _, k := range recordKeys(nil, &ps[i], true) {
			want = append(want, posting{k, 7 + int32(i), tagOf(&ps[i])})
		}
	}
	slices.SortFunc(want, cmpPosting)
	opt := DefaultOptions()
	opt.Workers = 2
	got := collectPostings(ps, 7, false, opt)
	if !slices.Equal(got, want) {
		t.Fatalf("collectPostings: %d postings, not the %d sorted ones", len(got), len(want))
	}
}
