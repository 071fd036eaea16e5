package idcard

// Error is a reason an ID number is rejected. Code is stable and matches the
// validation issue codes of package model, so callers can switch on it.
type Error struct {
	Code    string // stable, append-only, e.g. "id_checksum"
	Message string // Chinese / English
}

func (e *Error) Error() string { return "idcard: " + e.Code + ": " + e.Message }

// Sentinel errors returned (possibly wrapped with detail) by Parse and Upgrade15.
// Test with errors.Is; use errors.As with *Error to get the code.
var (
	// ErrFormat means the number holds a character other than digits and a final X.
	ErrFormat = &Error{"id_format", "身份证号含有非法字符 / ID number contains invalid characters"}
	// ErrLength means the number is neither 18 nor 15 characters long.
	ErrLength = &Error{"id_length", "身份证号应为18位（或15位旧号） / ID number must have 18 (or legacy 15) characters"}
	// ErrChecksum means the 18th character is not the MOD 11-2 check character.
	ErrChecksum = &Error{"id_checksum", "身份证号校验码错误 / ID number check digit is wrong"}
	// ErrBirthDate means the embedded birth date is not a real date, is in
	// the future or is before 1880.
	ErrBirthDate = &Error{"id_birth_date", "身份证号中的出生日期无效 / ID number contains an invalid birth date"}
	// ErrRegion means the first six digits never were an administrative
	// division code. Parse does not return it; CheckRegion does.
	ErrRegion = &Error{"id_region_unknown", "身份证号地址码不存在 / ID number region code does not exist"}
)
