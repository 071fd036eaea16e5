package accounts

import (
	"errors"
	"fmt"
	"time"
)

// Errors callers switch on. The API turns each into one response, in one
// place (server/api/errors.go).
var (
	// ErrExists means a user of that name exists already.
	ErrExists = errors.New("accounts: 用户名已存在 / user exists")
	// ErrInvalid means a user's name, role or districts are not acceptable.
	ErrInvalid = errors.New("accounts: invalid user")
	// ErrBadCredentials means the user name or the password is wrong (which
	// one is not said).
	ErrBadCredentials = errors.New("accounts: wrong user name or password")
	// ErrUserDisabled means the account is disabled.
	ErrUserDisabled = errors.New("accounts: user disabled")
	// ErrDeviceRevoked means the device was revoked.
	ErrDeviceRevoked = errors.New("accounts: device revoked")
	// ErrDeviceTaken means the device is enrolled to another user.
	ErrDeviceTaken = errors.New("accounts: device enrolled to another user")
	// ErrBadDeviceID means a device ID is malformed or reserved.
	ErrBadDeviceID = errors.New("accounts: bad device ID")
	// ErrBadPassword means a new password breaks the password policy; the
	// error is a *PasswordError naming the field and the rule.
	ErrBadPassword = errors.New("accounts: password refused by the policy")
	// ErrBadRefresh means a refresh token is unknown, expired, or was used
	// up (then its whole session is revoked).
	ErrBadRefresh = errors.New("accounts: refresh token invalid")
	// ErrTooManyAttempts means sign-ins are throttled; the error is a
	// *ThrottledError with how long to wait.
	ErrTooManyAttempts = errors.New("accounts: too many failed sign-ins")
	// ErrPasswordChangeRequired means the password is right but one-time:
	// the error is a *ChangeRequiredError carrying a token that only
	// changes the password.
	ErrPasswordChangeRequired = errors.New("accounts: password must be changed")
)

// PasswordError is a password refused by the policy: the field it came in
// and the rule, in Chinese then English.
type PasswordError struct {
	Field   string // "password", "new", …
	Message string // 中文 / English
}

func (e *PasswordError) Error() string { return "accounts: " + e.Field + ": " + e.Message }

// Is makes errors.Is(err, ErrBadPassword) true.
func (e *PasswordError) Is(target error) bool { return target == ErrBadPassword }

// ThrottledError is a refused sign-in attempt and how long to wait.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("accounts: too many failed sign-ins: retry after %v", e.RetryAfter)
}

// Is makes errors.Is(err, ErrTooManyAttempts) true.
func (e *ThrottledError) Is(target error) bool { return target == ErrTooManyAttempts }

// ChangeRequiredError answers a sign-in with a one-time password: Token
// (valid minutes) only changes the password (POST /v1/me/password).
type ChangeRequiredError struct {
	Token   string
	Expires time.Time
}

func (e *ChangeRequiredError) Error() string { return ErrPasswordChangeRequired.Error() }

// Is makes errors.Is(err, ErrPasswordChangeRequired) true.
func (e *ChangeRequiredError) Is(target error) bool { return target == ErrPasswordChangeRequired }
