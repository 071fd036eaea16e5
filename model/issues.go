package model

// Issue codes. They are stable and append-only: devices, the server and
// the console switch on them. The id_* codes equal idcard.Error.Code.
const (
	CodeUnknownType           = "unknown_type"            // record type is not known
	CodeRequired              = "required"                // a required field is missing or empty
	CodeFieldType             = "field_type"              // value is not a JSON string
	CodeUnknownField          = "unknown_field"           // key this type does not define (a warning until the record contract)
	CodeNotNormalized         = "not_normalized"          // warning: Normalize would change the value
	CodeEnumValue             = "enum_value"              // value is not one of the field's codes
	CodeDateFormat            = "date_format"             // not a real YYYY-MM-DD date
	CodeIDFormat              = "id_format"               // ID holds invalid characters
	CodeIDLength              = "id_length"               // ID is not 18 (or 15) characters
	CodeIDChecksum            = "id_checksum"             // ID check character is wrong
	CodeIDBirthDate           = "id_birth_date"           // ID holds an impossible birth date
	CodeIDRegionUnknown       = "id_region_unknown"       // ID region code never existed
	CodeIDRegionRetired       = "id_region_retired"       // warning: ID region code no longer exists
	CodeBirthDateMismatch     = "birth_date_mismatch"     // birth_date disagrees with the ID
	CodeGenderMismatch        = "gender_mismatch"         // gender disagrees with the ID
	CodeUnderAge              = "under_age"               // not 18 on election day
	CodePhoneFormat           = "phone_format"            // not a mainland mobile or landline number
	CodeRemovalReasonRequired = "removal_reason_required" // status removed without a reason
	CodeElsewhereRequired     = "elsewhere_required"      // outcome registered_elsewhere without where
	CodeProxyRequired         = "proxy_required"          // outcome proxy without proxy name and ID
	CodeIDMissing             = "id_missing"              // warning: no ID number
	CodeBirthDateLunar        = "birth_date_lunar"        // warning: birth_date is the ID's date read as a lunar date
	CodeGenderUnknown         = "gender_unknown"          // warning: no gender, and no valid ID to read it from
	CodeIdentityRequired      = "identity_required"       // neither an ID number nor a birth date
	CodeDistrictUnknown       = "district_unknown"        // the district code begins with no known county
	CodeTooLong               = "too_long"                // value longer than the field allows
	CodeInvalidUTF8           = "invalid_utf8"            // value is not valid UTF-8, or escapes half a surrogate pair
	CodeControlChar           = "control_char"            // value holds a control character
	CodeTooManyFields         = "too_many_fields"         // more fields than the type declares
)

var messages = map[string]string{
	CodeUnknownType:           "未知的记录类型 / unknown record type",
	CodeRequired:              "必填项缺失 / required field is missing",
	CodeFieldType:             "字段值应为文本 / field value must be a string",
	CodeUnknownField:          "未知字段 / unknown field",
	CodeNotNormalized:         "字段值未规范化 / field value is not in canonical form",
	CodeEnumValue:             "取值不在允许范围内 / value is not one of the allowed codes",
	CodeDateFormat:            "日期格式应为YYYY-MM-DD / date must be a real date written YYYY-MM-DD",
	CodeIDFormat:              "身份证号含有非法字符 / ID number contains invalid characters",
	CodeIDLength:              "身份证号应为18位（或15位旧号） / ID number must have 18 (or legacy 15) characters",
	CodeIDChecksum:            "身份证号校验码错误 / ID number check digit is wrong",
	CodeIDBirthDate:           "身份证号中的出生日期无效 / ID number contains an invalid birth date",
	CodeIDRegionUnknown:       "身份证号地址码不存在 / ID number region code does not exist",
	CodeIDRegionRetired:       "身份证号地址码已撤销（旧行政区划） / ID number region code is no longer in use",
	CodeBirthDateMismatch:     "出生日期与身份证号不符 / birth date does not match the ID number",
	CodeGenderMismatch:        "性别与身份证号不符 / gender does not match the ID number",
	CodeUnderAge:              "选举日未满十八周岁 / under 18 on election day",
	CodePhoneFormat:           "电话号码格式错误 / phone number is not a valid mobile or landline number",
	CodeRemovalReasonRequired: "除名须填写除名原因 / a removed record needs a removal reason",
	CodeElsewhereRequired:     "已在外地登记须注明登记地 / say where the voter is registered elsewhere",
	CodeProxyRequired:         "委托投票须填写受托人姓名和身份证号 / a proxy needs a name and ID number",
	CodeIDMissing:             "未填写身份证号，待核实 / no ID number: to be verified",
	CodeBirthDateLunar:        "出生日期可能为农历生日，待核实 / the birth date may be the lunar birthday: to be verified",
	CodeGenderUnknown:         "性别未填写，且无法从身份证号读出 / gender is missing and no valid ID number gives it",
	CodeIdentityRequired:      "身份证号和出生日期至少填写一项 / give the ID number or the birth date",
	CodeDistrictUnknown:       "选区代码须以已知县（区）的代码开头 / the district code must begin with a known county code",
	CodeTooLong:               "字段值过长 / the value is too long",
	CodeInvalidUTF8:           "字段值不是有效的UTF-8文本 / the value is not valid UTF-8 text",
	CodeControlChar:           "字段值含有控制字符 / the value contains control characters",
	CodeTooManyFields:         "记录的字段过多 / the record has more fields than its type declares",
}

// Message returns the bilingual message for an issue code.
func Message(code string) string { return messages[code] }

// Issue is one problem Validate found with a field.
type Issue struct {
	Field   string `json:"field"`   // JSON key, "district", or "" for the record
	Code    string `json:"code"`    // one of the Code constants
	Message string `json:"message"` // Chinese / English
}

// Report is the outcome of Validate. Errors reject the change; warnings are
// shown to the registrar and the coordinator but do not.
type Report struct {
	Errors   []Issue `json:"errors,omitempty"`
	Warnings []Issue `json:"warnings,omitempty"`
	// IDStatus is a registration's identity status; "" for other types.
	IDStatus IDStatus `json:"id_status,omitempty"`
}

// OK reports whether r holds no errors.
func (r Report) OK() bool { return len(r.Errors) == 0 }

// IDStatus says how far a registration's identity is established.
type IDStatus string

// ID statuses. Anything but IDVerified puts the registration on the
// verification list (待核实); a later edit that supplies a valid ID number
// agreeing with the record clears it.
const (
	IDVerified IDStatus = "verified" // a valid ID number that agrees with the stated birth date and gender
	IDMissing  IDStatus = "missing"  // no ID number
	IDDoubtful IDStatus = "doubtful" // an ID number that fails its checks or disagrees with the record
)

// Label returns the status in Chinese and English.
func (s IDStatus) Label() (zh, en string) {
	switch s {
	case IDVerified:
		return "已核实", "Verified"
	case IDMissing:
		return "缺身份证号", "ID number missing"
	case IDDoubtful:
		return "身份存疑", "Identity doubtful"
	}
	return "", ""
}

// verificationCodes are the warnings that make a registration's identity
// doubtful or missing: the reasons it is on the verification list.
var verificationCodes = map[string]bool{
	CodeIDMissing: true, CodeIDFormat: true, CodeIDLength: true, CodeIDChecksum: true,
	CodeIDBirthDate: true, CodeIDRegionUnknown: true, CodeBirthDateMismatch: true,
	CodeBirthDateLunar: true, CodeGenderMismatch: true, CodeGenderUnknown: true, CodeDateFormat: true,
}

// NeedsVerification reports whether the record is a registration whose
// identity is not yet verified (待核实).
func (r Report) NeedsVerification() bool { return r.IDStatus != "" && r.IDStatus != IDVerified }

// Reasons lists the warnings that keep a registration from being verified.
func (r Report) Reasons() []Issue {
	var out []Issue
	for _, w := range r.Warnings {
		if verificationCodes[w.Code] {
			out = append(out, w)
		}
	}
	return out
}

func idStatus(rawID string, idOK bool, rep *Report) IDStatus {
	switch {
	case rawID == "":
		return IDMissing
	case !idOK || len(rep.Reasons()) > 0:
		return IDDoubtful
	}
	return IDVerified
}

func (r *Report) errorf(field, code string) {
	r.Errors = append(r.Errors, Issue{field, code, messages[code]})
}

func (r *Report) warnf(field, code string) {
	r.Warnings = append(r.Warnings, Issue{field, code, messages[code]})
}

func (r *Report) hasError(field string) bool {
	for _, i := range r.Errors {
		if i.Field == field {
			return true
		}
	}
	return false
}
