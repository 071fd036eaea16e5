package model

// Enum is the closed set of codes one field may take, each with its Chinese
// and English label for exports and the console. Codes are stable and
// append-only: they are stored in records on devices.
type Enum struct {
	Field  string // the JSON key the codes belong in
	Values []EnumValue
}

// EnumValue is one code with its labels.
type EnumValue struct {
	Code, Zh, En string
}

// Has reports whether code is one of e's codes.
func (e Enum) Has(code string) bool {
	_, _, ok := e.Label(code)
	return ok
}

// Label returns the Chinese and English labels of code.
func (e Enum) Label(code string) (zh, en string, ok bool) {
	for _, v := range e.Values {
		if v.Code == code {
			return v.Zh, v.En, true
		}
	}
	return "", "", false
}

// Codes lists e's codes in their declared order.
func (e Enum) Codes() []string {
	out := make([]string, len(e.Values))
	for i, v := range e.Values {
		out[i] = v.Code
	}
	return out
}

// Registration enums.
var (
	Genders = Enum{"gender", []EnumValue{
		{"M", "男", "Male"},
		{"F", "女", "Female"},
	}}
	RegistrationChannels = Enum{"channel", []EnumValue{
		{"door", "上门登记", "Door to door"},
		{"station", "上站登记", "At a registration station"},
		{"online", "上线登记", "Online"},
	}}
	Statuses = Enum{"status", []EnumValue{
		{"registered", "已登记", "Registered"},
		{"removed", "已除名", "Removed"},
	}}
	AdditionReasons = Enum{"addition_reason", []EnumValue{
		{"new_18", "新满18周岁", "Newly 18 by election day"},
		{"moved_in", "迁入", "Moved in"},
		{"rights_restored", "恢复政治权利", "Political rights restored"},
	}}
	RemovalReasons = Enum{"removal_reason", []EnumValue{
		{"died", "死亡", "Died"},
		{"moved_out", "迁出", "Moved out"},
		{"deprived", "被剥夺政治权利", "Deprived of political rights"},
		{"registered_elsewhere", "已在他处登记", "Registered elsewhere"},
	}}
	// Categories are the 四种人, counted and listed separately. The empty
	// code (none of the four) is also valid.
	Categories = Enum{"category", []EnumValue{
		{"deprived", "剥夺选举权", "Deprived of the right to vote"},
		{"suspended", "停止行使选举权", "Right to vote suspended"},
		{"whereabouts_unknown", "下落不明", "Whereabouts unknown"},
		{"unable", "无法行使选举权", "Unable to exercise the right to vote"},
	}}
)

// Migrant-contact enums.
var (
	ContactChannels = Enum{"channel", []EnumValue{
		{"phone", "电话", "Phone"},
		{"letter", "信件", "Letter"},
		{"email", "电子邮件", "E-mail"},
		{"fax", "传真", "Fax"},
		{"family_visit", "走访家属", "Visit to family"},
		{"message", "短信留言", "Message"},
	}}
	ContactOutcomes = Enum{"outcome", []EnumValue{
		{"registered_here", "在本选区登记", "Registered here"},
		{"registered_elsewhere", "已在外地登记", "Registered elsewhere"},
		{"proxy", "委托投票", "Will vote by proxy"},
		{"unreachable", "联系不上", "Unreachable"},
	}}
	// Evidences follow the rule 见到人、听到声、有记录.
	Evidences = Enum{"evidence", []EnumValue{
		{"seen", "见到人", "Seen in person"},
		{"heard", "听到声", "Heard on the phone"},
		{"written", "有记录", "Written record"},
	}}
)

// DistrictKinds are the kinds of electoral district (选区).
var DistrictKinds = Enum{"kind", []EnumValue{
	{"village", "村", "Village"},
	{"community", "社区", "Community"},
	{"work_unit", "单位", "Work unit"},
}}
