package roll

import (
	"strconv"
	"strings"
	"time"

	"github.com/dengji/dengji/model"
)

// colDistrict is the pseudo-key of the district column: the district is the
// sync envelope's, not a field.
const colDistrict = "district"

// zhLabels are the Chinese column names of registration keys, the first of
// each list being the one exports write. Every model key is also accepted
// by its English name.
var zhLabels = map[string][]string{
	"name":              {"姓名", "选民姓名"},
	"gender":            {"性别"},
	"birth_date":        {"出生日期", "出生年月日", "生日", "出生年月"},
	"id_number":         {"身份证号", "身份证号码", "公民身份号码", "居民身份证号", "居民身份证号码", "身份证", "证件号码"},
	"household_address": {"户籍地址", "户籍所在地", "户口所在地"},
	"residence_address": {"现住址", "现居住地址", "现居住地", "居住地址"},
	"phone":             {"联系电话", "电话", "手机", "手机号码"},
	colDistrict:         {"选区", "选区代码", "选区编码", "选区名称"},
	"voter_group":       {"选民小组", "小组"},
	"ref":               {"编号", "外部编号"},
	"channel":           {"登记方式"},
	"status":            {"状态", "登记状态"},
	"addition_reason":   {"增加原因", "新增原因"},
	"removal_reason":    {"减少原因", "除名原因"},
	"removal_detail":    {"除名说明", "减少说明"},
	"category":          {"四种人", "四种人类别"},
	"category_note":     {"四种人说明"},
	"registrar":         {"登记员"},
}

// enLabels are English column names accepted beside the model keys.
var enLabels = map[string][]string{
	"gender":     {"sex"},
	"birth_date": {"birthday", "date_of_birth", "dob"},
	"id_number":  {"id", "id_no", "id_card", "id_card_number"},
	"phone":      {"telephone", "mobile"},
	colDistrict:  {"district_code", "district_name"},
}

var headerKeys = func() map[string]string {
	m := map[string]string{colDistrict: colDistrict}
	for _, k := range model.Keys(model.TypeRegistration) {
		m[k] = k
	}
	for _, labels := range []map[string][]string{zhLabels, enLabels} {
		for k, ls := range labels {
			for _, l := range ls {
				m[l] = k
			}
		}
	}
	return m
}()

// cleanHeader folds the ways people decorate a header cell: spaces, a
// required-field star, case, a full-width bracketed note ("姓名（必填）").
func cleanHeader(h string) string {
	h = strings.TrimPrefix(h, "\ufeff")
	if i := strings.IndexAny(h, "（("); i > 0 {
		h = h[:i]
	}
	h = strings.Trim(strings.TrimSpace(h), "*＊ ")
	return strings.ToLower(strings.ReplaceAll(h, " ", "_"))
}

// columns maps a file's columns to model keys.
type columns struct {
	key    []string          // per column index: model key or "" (ignored)
	header map[string]string // model key -> the header as the file writes it
}

func readHeader(cells []string) columns {
	c := columns{key: make([]string, len(cells)), header: map[string]string{}}
	for i, h := range cells {
		k := headerKeys[cleanHeader(h)]
		if k == "" || c.header[k] != "" {
			continue // unknown or repeated: the first one wins
		}
		c.key[i], c.header[k] = k, strings.TrimSpace(h)
	}
	return c
}

// name is the column a row error points at: the file's header for key, or
// the Chinese name when the file has no such column.
func (c columns) name(key string) string {
	if h := c.header[key]; h != "" {
		return h
	}
	if zh := zhLabels[key]; len(zh) > 0 {
		return zh[0]
	}
	return key
}

// enumFields are the registration's enumerated keys other than gender
// (model.Normalize handles that one). A cell may hold the code or either
// label.
var enumFields = func() map[string]map[string]string {
	m := map[string]map[string]string{}
	for _, e := range []model.Enum{model.RegistrationChannels, model.Statuses,
		model.AdditionReasons, model.RemovalReasons, model.Categories} {
		labels := map[string]string{}
		for _, v := range e.Values {
			labels[strings.ToLower(v.Code)] = v.Code
			labels[v.Zh] = v.Code
			labels[strings.ToLower(v.En)] = v.Code
		}
		m[e.Field] = labels
	}
	return m
}()

func enumCode(key, s string) string {
	if labels, ok := enumFields[key]; ok {
		if c, ok := labels[strings.ToLower(s)]; ok {
			return c
		}
	}
	return s
}

// excelSerialDate turns an Excel date serial (days since 1899-12-30, as an
// XLSX stores a date cell) into YYYY-MM-DD. Eight-digit values are
// YYYYMMDD, not serials, and are left to model.Normalize.
func excelSerialDate(s string) (string, bool) {
	if len(s) > 6 {
		return "", false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 1 || f > 2958465 {
		return "", false
	}
	day := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(f))
	return day.Format(time.DateOnly), true
}
