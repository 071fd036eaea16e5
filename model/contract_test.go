package model

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	gojson "github.com/dengji/dengji/internal/jsonx"
)

// okRegistration is a registration that passes every rule, as raw fields.
func okRegistration() map[string]json.RawMessage {
	return fieldsOf(map[string]any{"name": "黄金", "gender": "F", "birth_date": "1949-12-31", "id_number": "11010519491231002X"})
}

func TestValidate_Contract(t *testing.T) {
	with := func(kv ...string) map[string]json.RawMessage {
		f := okRegistration()
		for i := 0; i < len(kv); i += 2 {
			f[kv[i]] = json.RawMessage(kv[i+1])
		}
		return f
	}
	many := okRegistration()
	for i := range 1000 {
		many[fmt.Sprintf("x%04d", i)] = json.RawMessage(`"1"`)
	}
	for _, tt := range []struct {
		name   string
		fields map[string]json.RawMessage
		want   []string
	}{
		{"OK/escapes", with("name", `"\u9ec4\u91d1 \u003c\/\u003e"`), nil},
		{"OK/surrogate pair", with("name", `"\ud842\udfb7"`), nil}, // 𠮷
		{"OK/null", with("phone", `null`), nil},
		{"OK/line feed in a note", with("category_note", `"第一行\n第二行"`), nil},
		{"ErrDeepArray/unknown field", with("junk", strings.Repeat("[", 9999)+strings.Repeat("]", 9999)), []string{"E junk unknown_field"}},
		{"ErrDeepArray/known field", with("name", strings.Repeat("[", 9999)+strings.Repeat("]", 9999)), []string{"E name field_type"}},
		{"ErrObject", with("name", `{"a":{"b":"c"}}`), []string{"E name field_type"}},
		{"ErrNumber", with("voter_group", `3`), []string{"E voter_group field_type"}},
		{"ErrTooLong/10 MB name", with("name", `"`+strings.Repeat("名", 10<<20/3)+`"`), []string{"E name too_long"}},
		{"ErrTooLong/escaped", with("name", `"`+strings.Repeat(`\u0041`, 65)+`"`), []string{"E name too_long"}},
		{"ErrNUL", with("name", `"黄\u0000金"`), []string{"E name control_char"}},
		{"ErrANSI", with("name", `"\u001b[31m黄金\u001b[0m"`), []string{"E name control_char"}},
		{"ErrDEL", with("name", "\"黄\x7f金\""), []string{"E name control_char"}},
		{"ErrC1", with("name", `"黄`+"\u0085"+`金"`), []string{"E name control_char"}},
		{"ErrBidiOverride", with("name", `"黄`+"\u202e"+`金"`), []string{"E name control_char"}},
		{"ErrLineSeparator", with("household_address", `"一`+"\u2028"+`二"`), []string{"E household_address control_char"}},
		{"ErrTab", with("name", `"黄\t金"`), []string{"E name control_char"}},
		{"ErrLineFeed/not a note", with("household_address", `"一\n二"`), []string{"E household_address control_char"}},
		{"ErrCarriageReturn/note", with("category_note", `"一\r\n二"`), []string{"E category_note control_char"}},
		{"ErrInvalidUTF8", with("name", "\"\xff\xfe\""), []string{"E name invalid_utf8"}},
		{"ErrInvalidUTF8/lone surrogate", with("name", `"\ud800"`), []string{"E name invalid_utf8"}},
		{"ErrInvalidUTF8/reversed pair", with("name", `"\udc00\ud800"`), []string{"E name invalid_utf8"}},
		{"ErrFieldType/bad escape", with("name", `"\x41"`), []string{"E name field_type"}},
		{"ErrFieldType/two strings", with("name", `"a""b"`), []string{"E name field_type"}},
		{"ErrUnknownField/5 MB", with("junk", `"`+strings.Repeat("x", 5<<20)+`"`), []string{"E junk unknown_field"}},
		{"ErrUnknownField/null", with("junk", `null`), []string{"E junk unknown_field"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := codes(Validate(TypeRegistration, d1, tt.fields, election)); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("ErrTooManyFields", func(t *testing.T) {
		rep := Validate(TypeRegistration, d1, many, election)
		got := codes(rep)
		if len(got) != 1+maxUnknownReported || !slices.Contains(got, "E  too_many_fields") || !slices.Contains(got, "E x0000 unknown_field") {
			t.Errorf("got %q", got)
		}
	})
}

func TestValidate_UnknownFieldMessage(t *testing.T) {
	rep := Validate(TypeRegistration, d1, with(okRegistration(), "shoe_size", `"42"`), election)
	if len(rep.Errors) != 1 || rep.Errors[0].Message != "未知字段 shoe_size / unknown field shoe_size" {
		t.Errorf("got %+v", rep.Errors)
	}
	rep = Validate(TypeRegistration, d1, with(okRegistration(), "\x1b[2J"+strings.Repeat("k", 100), `"1"`), election)
	if len(rep.Errors) != 1 || strings.ContainsRune(rep.Errors[0].Message, 0x1b) || len(rep.Errors[0].Field) > 80 {
		t.Errorf("an outside key reached the message unquoted: %+v", rep.Errors)
	}
}

func with(f map[string]json.RawMessage, k, v string) map[string]json.RawMessage {
	f = maps.Clone(f)
	f[k] = json.RawMessage(v)
	return f
}

func TestNormalize_Breaks(t *testing.T) {
	got := Normalize(TypeRegistration, fieldsOf(map[string]any{
		"household_address": "湖南省\r\n长沙市\t芙蓉区", "category_note": "一\r\n二\r三\t四", "name": "黄\n金"}))
	want := fieldsOf(map[string]any{"household_address": "湖南省 长沙市 芙蓉区", "category_note": "一\n二\n三 四", "name": "黄 金"})
	if !maps.EqualFunc(got, want, func(a, b json.RawMessage) bool { return string(a) == string(b) }) {
		t.Errorf("Normalize = %s", got)
	}
	if rep := Validate(TypeRegistration, d1, maps.Collect(func(yield func(string, json.RawMessage) bool) {
		for k, v := range okRegistration() {
			yield(k, v)
		}
		yield("category_note", got["category_note"])
		yield("household_address", got["household_address"])
	}), election); !rep.OK() || len(rep.Warnings) != 0 {
		t.Errorf("normalized breaks: %+v", rep)
	}
}

func TestCheckContract(t *testing.T) {
	f := okRegistration()
	f["name"] = json.RawMessage(`"黄\u0000金"`)
	f["junk"] = json.RawMessage(`[[]]`)
	delete(f, "id_number") // a rule, not the contract: not reported
	got := CheckContract(TypeRegistration, maps.All(f))
	if len(got) != 2 || got[0].Field != "name" || got[0].Code != CodeControlChar || got[1].Code != CodeUnknownField {
		t.Errorf("CheckContract = %+v", got)
	}
	if got := CheckContract("voter_card", maps.All(f)); len(got) != 1 || got[0].Code != CodeUnknownType {
		t.Errorf("unknown type: %+v", got)
	}
	if got := CheckContract(TypeRegistration, maps.All(okRegistration())); got != nil {
		t.Errorf("a good record: %+v", got)
	}
}

// FuzzFieldValue: a value the contract accepts is a JSON string that
// encoding/json and goccy/go-json both decode to exactly what the model read,
// and that the model reads back the same once re-encoded.
func FuzzFieldValue(f *testing.F) {
	for _, s := range []string{`"黄金"`, `"\u9ec4\n"`, `"\ud842\udfb7"`, `"\ud800"`, "\"\xff\"", `"\u0000"`, `[[[`, `"a\/b\"c\\"`, `null`, `"\u00"`} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, lines bool) {
		field := Field{Key: "note", Kind: KindText, Max: maxLong, Lines: lines}
		s, code := fieldValue(field, json.RawMessage(raw))
		if code != "" || raw == "null" || raw == "" {
			return
		}
		if !utf8.ValidString(raw) || !json.Valid([]byte(raw)) {
			t.Fatalf("accepted %q, which is not valid UTF-8 JSON", raw)
		}
		var std, goc string
		if err := json.Unmarshal([]byte(raw), &std); err != nil || std != s {
			t.Fatalf("encoding/json reads %q as %q (%v), the model as %q", raw, std, err, s)
		}
		if err := gojson.Unmarshal([]byte(raw), &goc); err != nil || goc != s {
			t.Fatalf("goccy/go-json reads %q as %q (%v), the model as %q", raw, goc, err, s)
		}
		if back, code := fieldValue(field, quote(s)); code != "" || back != s {
			t.Fatalf("%q re-encoded reads back as %q (%s)", s, back, code)
		}
	})
}
