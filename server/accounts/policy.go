package accounts

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// The password policy. Lengths are in characters (a Chinese character is
// one), and bcrypt reads no more than 72 bytes, so a longer password is
// refused rather than silently cut.
const (
	MinPasswordChars = 10
	MaxPasswordChars = 64
	MaxPasswordBytes = 72
)

// CheckPassword checks a new password against the policy. field names the
// request field it came in, for the message.
func CheckPassword(field, user, password string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case !utf8.ValidString(password):
		return &PasswordError{field, "密码不是有效的 UTF-8 文本 / the password is not valid UTF-8 text"}
	case n < MinPasswordChars || n > MaxPasswordChars:
		return &PasswordError{field, "密码须为 10 至 64 个字符 / the password must be 10 to 64 characters"}
	case len(password) > MaxPasswordBytes:
		return &PasswordError{field, "密码超过 72 字节（约 24 个汉字），请缩短 / the password is over 72 bytes (about 24 Chinese characters): shorten it"}
	case strings.EqualFold(password, user):
		return &PasswordError{field, "密码不能与用户名相同 / the password must not be the user name"}
	}
	return nil
}

// Device IDs: 3 to 64 letters, digits, '.', '_' or '-', beginning with a
// letter or digit (the SDK makes UUIDs). "server" and every ID beginning
// with it (any case) are the server's own: store.ServerDevice writes the
// coordinators' decisions and imports.
var deviceID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$`)

// CheckDeviceID reports whether id may be enrolled.
func CheckDeviceID(id string) error {
	if !deviceID.MatchString(id) || strings.HasPrefix(strings.ToLower(id), "server") {
		return ErrBadDeviceID
	}
	return nil
}
