package dedup

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/longbridgeapp/opencc"

	"github.com/dengji/dengji/model"
	"github.com/mozillazg/go-pinyin"
)

// hanLo and hanHi bound the CJK ranges covered by the rune tables
// (Extension A and the Unified Ideographs block).
const (
	hanLo = 0x3400
	hanHi = 0x9FFF
)

var (
	tablesOnce sync.Once
	t2sTable   []rune   // index r-hanLo: simplified form, 0 if unchanged
	pyTable    []string // index r-hanLo: toneless pinyin of the default reading
)

// variants maps variant characters (异体字) that OpenCC's t2s leaves alone
// to the standard simplified character used in registers.
var variants = map[rune]rune{
	'峯': '峰', '菓': '果', '羣': '群', '綫': '线', '箇': '个', '囘': '回',
	'姪': '侄', '冨': '富', '堃': '坤', '喆': '哲', '甯': '宁', '煇': '辉',
	'亙': '亘', '斈': '学', '牀': '床', '卻': '却', '鷄': '鸡', '啓': '启',
	'濬': '浚', '昇': '升', '勳': '勋', '衞': '卫', '栢': '柏', '琹': '琴',
	'凖': '准', '欵': '款', '晳': '皙', '玅': '妙', '氷': '冰', '蔴': '麻',
	'迺': '乃', '珮': '佩', '秊': '年', '眞': '真',
}

// surnamePinyin holds the surname readings of characters and compound
// surnames whose default reading differs when used as a family name.
var surnamePinyin = map[string]string{
	"曾": "zeng", "单": "shan", "仇": "qiu", "区": "ou", "解": "xie", "朴": "piao",
	"查": "zha", "盖": "ge", "乐": "yue", "覃": "qin", "黑": "he", "缪": "miao",
	"翟": "zhai", "宁": "ning", "重": "chong", "种": "chong", "秘": "bi", "员": "yun",
	"费": "fei", "燕": "yan", "隗": "wei", "纪": "ji", "葛": "ge", "召": "shao",
	"繁": "po", "柏": "bai", "薄": "bo", "牟": "mou", "折": "she", "句": "gou",
	"冼": "xian", "洗": "xian", "祭": "zhai", "率": "shuai", "都": "du", "藏": "zang",
	"卜": "bu", "褚": "chu", "曲": "qu", "相": "xiang", "乜": "nie", "尉": "wei",
	"沈": "shen", "贾": "jia", "华": "hua", "任": "ren", "朝": "chao", "车": "che",
	"长孙": "zhangsun", "尉迟": "yuchi", "万俟": "moqi", "单于": "chanyu",
	"令狐": "linghu", "欧阳": "ouyang", "司马": "sima", "上官": "shangguan",
	"诸葛": "zhuge", "东方": "dongfang", "皇甫": "huangfu", "夏侯": "xiahou",
	"公孙": "gongsun", "慕容": "murong", "澹台": "tantai", "宇文": "yuwen",
	"闻人": "wenren", "申屠": "shentu", "司徒": "situ", "司空": "sikong",
	"呼延": "huyan", "端木": "duanmu", "南宫": "nangong", "轩辕": "xuanyuan",
	"钟离": "zhongli", "独孤": "dugu", "西门": "ximen", "赫连": "helian",
	"太史": "taishi", "拓跋": "tuoba", "百里": "baili", "第五": "diwu",
	"公冶": "gongye", "濮阳": "puyang", "淳于": "chunyu", "仲孙": "zhongsun",
}

func initTables() {
	n := hanHi - hanLo + 1
	t2sTable = make([]rune, n)
	pyTable = make([]string, n)
	cc, err := opencc.New("t2s")
	args := pinyin.NewArgs()
	for i := 0; i < n; i++ {
		r := rune(hanLo + i)
		if err == nil {
			if s, cerr := cc.Convert(string(r)); cerr == nil {
				if rs := []rune(s); len(rs) == 1 && rs[0] != r {
					t2sTable[i] = rs[0]
				}
			}
		}
		if p := pinyin.SinglePinyin(r, args); len(p) > 0 {
			pyTable[i] = p[0]
		}
	}
	for from, to := range variants {
		if from >= hanLo && from <= hanHi && from != to {
			t2sTable[from-hanLo] = to
		}
	}
}

// simplifyRune folds a traditional or variant character to simplified.
func simplifyRune(r rune) rune {
	if r < hanLo || r > hanHi {
		return r
	}
	tablesOnce.Do(initTables)
	if s := t2sTable[r-hanLo]; s != 0 {
		return s
	}
	return r
}

// runePinyin returns the toneless pinyin of a Han character, or "".
func runePinyin(r rune) string {
	if r < hanLo || r > hanHi {
		return ""
	}
	tablesOnce.Do(initTables)
	return pyTable[r-hanLo]
}

// isNameSeparator reports the separators used in minority and Latin names.
func isNameSeparator(r rune) bool {
	switch r {
	case '·', '•', '・', '.', '-', '‧', '∙', '_', '\uFF65', '\u2010', '\u2014':
		return true
	}
	return unicode.IsSpace(r)
}

// NormalizeName folds width, converts traditional and variant characters
// to simplified, lower-cases Latin letters and drops separators, so that
// "買買提·艾力" and "买买提艾力" are equal.
func NormalizeName(s string) string {
	if nameNormal(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		r = model.FoldWidth(r)
		if isNameSeparator(r) {
			continue
		}
		r = simplifyRune(unicode.ToLower(r))
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// SplitSurname returns the surname part of a normalized Chinese name: a
// known compound surname when the name has at least three characters, else
// the first character. A name not starting with a Han character has no
// surname here (see prepare for Latin names).
func SplitSurname(norm string) (surname, given string) {
	rs := []rune(norm)
	if len(rs) == 0 {
		return "", ""
	}
	if !isHan(rs[0]) {
		return "", norm
	}
	if len(rs) >= 3 {
		if _, ok := surnamePinyin[string(rs[:2])]; ok {
			return string(rs[:2]), string(rs[2:])
		}
	}
	return string(rs[:1]), string(rs[1:])
}

func isHan(r rune) bool { return r >= hanLo && r <= hanHi }

// NamePinyin returns the toneless pinyin of a normalized name, the surname
// read with its surname reading ("曾伟" is "zengwei", "单雄" is "shanxiong").
// Non-Han letters are kept as they are.
func NamePinyin(norm string) (full, surname string) {
	sur, given := SplitSurname(norm)
	if sur != "" {
		surname = surnameReading(sur)
	}
	var b strings.Builder
	b.Grow(len(norm) * 2)
	b.WriteString(surname)
	for _, r := range given {
		if p := runePinyin(r); p != "" {
			b.WriteString(p)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String(), surname
}

// FuzzyPinyin returns the pinyin of a normalized name with the sounds that
// dialects and hurried listening confuse folded together, as fuzzy-pinyin
// input methods do: zh/z, ch/c, sh/s, n/l, -ang/-an, -eng/-en, -ing/-in, and
// huang/wang (黄/王 in the south). Two names that differ only there, such as
// 黄伟 and 王伟 or 陈静 and 程静, have the same fuzzy pinyin.
func FuzzyPinyin(norm string) string {
	sur, given := SplitSurname(norm)
	var b strings.Builder
	b.Grow(len(norm) * 2)
	if sur != "" {
		b.WriteString(fuzzySyllable(surnameReading(sur)))
	}
	for _, r := range given {
		if p := runePinyin(r); p != "" {
			b.WriteString(fuzzySyllable(p))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func fuzzySyllable(p string) string {
	if p == "huang" {
		return "wang"
	}
	if len(p) >= 2 && p[1] == 'h' && (p[0] == 'z' || p[0] == 'c' || p[0] == 's') {
		p = p[:1] + p[2:]
	}
	if p != "" && p[0] == 'n' {
		p = "l" + p[1:]
	}
	if strings.HasSuffix(p, "ng") && len(p) >= 3 && p[len(p)-3] != 'o' {
		p = p[:len(p)-1]
	}
	return p
}

func surnameReading(sur string) string {
	if p, ok := surnamePinyin[sur]; ok {
		return p
	}
	if r, n := utf8.DecodeRuneInString(sur); n == len(sur) {
		return runePinyin(r) // one character: the table's string, no copy
	}
	var b strings.Builder
	for _, r := range sur {
		b.WriteString(runePinyin(r))
	}
	return b.String()
}

// NormalizePhone is a phone number as compared: the model's canonical form
// (model.NormalizePhone) without its hyphen, or "" if it is not a phone
// number.
func NormalizePhone(s string) string {
	p, ok := model.NormalizePhone(s)
	if !ok {
		return ""
	}
	return strings.Replace(p, "-", "", 1)
}

// NormalizeAddress folds width and characters like NormalizeName and drops
// punctuation and spaces.
func NormalizeAddress(s string) string {
	if addressNormal(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		r = simplifyRune(unicode.ToLower(model.FoldWidth(r)))
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// nameNormal reports that NormalizeName would return s unchanged, so that
// the usual, already clean name is not copied.
func nameNormal(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || model.FoldWidth(r) != r || isNameSeparator(r) || !keptUnchanged(r) {
			return false
		}
	}
	return true
}

// addressNormal reports that NormalizeAddress would return s unchanged.
func addressNormal(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || model.FoldWidth(r) != r || !keptUnchanged(r) {
			return false
		}
	}
	return true
}

// keptUnchanged reports a letter or digit that lower-casing and
// simplification leave as it is.
func keptUnchanged(r rune) bool {
	switch {
	case r < 0x80:
		return r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
	case r >= 0x4E00 && r <= 0x9FFF || r >= 0x3400 && r <= 0x4DBF: // ideographs: letters with no case, most runes of a name or an address
		return simplifyRune(r) == r
	}
	return keptUnchangedSlow(r)
}

func keptUnchangedSlow(r rune) bool {
	return simplifyRune(unicode.ToLower(r)) == r && (unicode.IsLetter(r) || unicode.IsDigit(r))
}
