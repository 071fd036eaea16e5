package sdk

import (
	"errors"
	"fmt"
	"strings"
	"time"

	dsync "github.com/dengji/dengji/sync"
)

// ErrNotFound means the device has no record with that ID.
var ErrNotFound = errors.New("sdk: record not found")

// ErrDeleted means the record is deleted on the device and cannot be edited
// or deleted again.
var ErrDeleted = errors.New("sdk: record is deleted")

// ErrRevoked means the server revoked this device: the registrar must be told
// and the device must stop syncing. Test with errors.Is; the error is a
// *ServerError.
var ErrRevoked = errors.New("sdk: device revoked")

// ErrNotLoggedIn means Sync was called before Login stored tokens.
var ErrNotLoggedIn = errors.New("sdk: not logged in")

// ErrNoServer means no server URL was given in Options nor stored before.
var ErrNoServer = errors.New("sdk: no server URL")

// ErrSyncInProgress means another Sync of the same device is running.
var ErrSyncInProgress = errors.New("sdk: sync already in progress")

// ErrSchemaTooNew means the device file was written by a newer SDK.
var ErrSchemaTooNew = errors.New("sdk: device file schema is newer than this SDK")

// errSummary means a record's summary in the device file does not decode.
var errSummary = errors.New("sdk: malformed summary")

// ErrNetwork means the server could not be reached or the connection
// failed before an answer (no network, refused, DNS). Sync retries it with
// backoff; test with errors.Is.
var ErrNetwork = errors.New("sdk: network error")

// ErrTimeout means a request was given up because nothing moved for
// Options.StallTimeout.
var ErrTimeout = errors.New("sdk: no data moved for the stall timeout")

// ErrCut means the connection was cut under way (reset, or an answer that
// ended early). What had arrived is kept; the next try goes on from it.
var ErrCut = errors.New("sdk: connection cut")

// ErrProtocol means the server answered something the protocol does not
// allow (e.g. a push response whose results do not match the changes sent).
var ErrProtocol = errors.New("sdk: protocol violation")

// ErrPasswordChangeRequired means the password given to Login is one-time:
// call ChangePassword. Test with errors.Is; the error is a *ServerError.
var ErrPasswordChangeRequired = errors.New("sdk: password must be changed")

// Error codes of the server the SDK acts on.
const (
	CodeTokenExpired           = "token_expired"
	CodeDeviceRevoked          = "device_revoked"
	CodePasswordChangeRequired = "password_change_required"
	CodeTooManyAttempts        = "too_many_attempts"
	CodeBadPassword            = "bad_password"
)

// ServerError is an error response of the server: its HTTP status and the
// body's code and message (dsync.ErrorBody).
type ServerError struct {
	StatusCode int
	dsync.APIError
	retryAfter time.Duration // from a Retry-After header, if any
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("sdk: server: %d %s: %s", e.StatusCode, e.Code, e.Message)
}

// Is makes errors.Is(err, ErrRevoked) true for a revoked device, and
// errors.Is(err, ErrPasswordChangeRequired) for a one-time password.
func (e *ServerError) Is(target error) bool {
	return target == ErrRevoked && e.Code == CodeDeviceRevoked ||
		target == ErrPasswordChangeRequired && e.Code == CodePasswordChangeRequired
}

func (e *ServerError) retryable() bool {
	return e.StatusCode >= 500 || e.StatusCode == 429
}

// ValidationError is returned by Create and Update when the resulting record
// fails validation; nothing was stored. Issues lists what to show the
// registrar; Err is the validator's own error when it gave no issues.
type ValidationError struct {
	Issues []Issue
	Err    error
}

func (e *ValidationError) Error() string {
	if len(e.Issues) == 0 && e.Err != nil {
		return "sdk: invalid record: " + e.Err.Error()
	}
	msgs := make([]string, len(e.Issues))
	for i, is := range e.Issues {
		msgs[i] = is.Field + ": " + is.Message
	}
	return "sdk: invalid record: " + strings.Join(msgs, "; ")
}

func (e *ValidationError) Unwrap() error { return e.Err }

// asValidationError turns a validator's error into a *ValidationError.
func asValidationError(err error) error {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve
	}
	return &ValidationError{Err: err}
}
