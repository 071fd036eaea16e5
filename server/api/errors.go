package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/dedupjob"
	"github.com/dengji/dengji/server/election"
	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// Error is an API error: an HTTP status, a stable code clients switch on, and
// a message a person can act on, Chinese first, then English.
type Error struct {
	Status  int
	Code    string
	Message string
	Details json.RawMessage // machine-readable, e.g. the server's time for clock_skew
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func apiErr(status int, code, zh, en string) *Error {
	return &Error{Status: status, Code: code, Message: zh + " / " + en}
}

// Stable error codes: append-only. The SDK switches on them.
var (
	ErrBadRequest        = apiErr(400, "bad_request", "请求格式错误", "the request is malformed")
	ErrBadChoice         = apiErr(400, "bad_choice", "处理方式无效：请选择 kept、other 或 value", "choice must be kept, other or value")
	ErrBadUser           = apiErr(400, "bad_user", "用户信息不完整或无效", "user name, role or districts are invalid")
	ErrBadCredentials    = apiErr(401, "invalid_credentials", "用户名或密码错误", "wrong user name or password")
	ErrUnauthorized      = apiErr(401, "unauthorized", "请先登录", "sign in first: missing or invalid token")
	ErrTokenExpired      = apiErr(401, "token_expired", "登录已过期，请刷新令牌", "the access token expired: refresh it")
	ErrDeviceRevoked     = apiErr(401, "device_revoked", "此设备已被停用，请联系管理员", "this device was revoked: contact the administrator")
	ErrUserDisabled      = apiErr(401, "user_disabled", "账号已停用，请联系管理员", "this account is disabled: contact the administrator")
	ErrForbidden         = apiErr(403, "forbidden", "没有权限执行此操作", "your role may not do this")
	ErrOutOfScope        = apiErr(403, "out_of_scope", "不在您负责的选区范围内", "outside the districts assigned to you")
	ErrDeviceRequired    = apiErr(403, "device_required", "请从已登记的设备同步", "sync needs a token issued to an enrolled device")
	ErrNotFound          = apiErr(404, "not_found", "找不到该对象", "not found")
	ErrDeviceTaken       = apiErr(409, "device_taken", "此设备已登记给其他用户", "this device is enrolled to another user")
	ErrUserExists        = apiErr(409, "user_exists", "用户名已存在", "a user with this name exists")
	ErrAlreadyResolved   = apiErr(409, "already_resolved", "该冲突已处理", "this conflict was already resolved")
	ErrTooManyAttempts   = apiErr(429, "too_many_attempts", "登录失败次数过多，请按 Retry-After 等待后再试", "too many failed sign-ins: wait as Retry-After says")
	ErrTooLarge          = apiErr(413, "too_large", "请求过大，请分批提交", "the request is too large: send smaller batches")
	ErrUnsupported       = apiErr(415, "unsupported_encoding", "不支持的内容编码", "unsupported Content-Encoding: use gzip or none")
	ErrUnavailable       = apiErr(503, "unavailable", "服务器繁忙，请稍后重试", "the server is busy: try again shortly")
	ErrInternal          = apiErr(500, "internal", "服务器内部错误", "internal server error")
	ErrDedupRunning      = apiErr(409, "dedup_running", "查重正在进行，请稍后再试", "a duplicate check is already running")
	ErrBadDecision       = apiErr(400, "bad_decision", "处理结果无效：请选择 confirmed 或 rejected", "decision must be confirmed or rejected")
	ErrBadKeep           = apiErr(400, "bad_keep", "保留的登记不在该案例中", "the registration to keep is not in the case")
	ErrAlreadyDecided    = apiErr(409, "already_decided", "该疑似重复已作出不同的处理", "this case was already decided otherwise")
	ErrBadAnswer         = apiErr(400, "bad_answer", "答复无效：answer 须为 registered_there、different_person 或 other", "answer must be registered_there, different_person or other")
	ErrBadNote           = apiErr(400, "bad_note", "备注无效：note 最多500字、不含控制字符，answer 为 other 时必填", "note must be at most 500 characters without control characters, and is required when answer is other")
	ErrRemoveRefused     = apiErr(409, "remove_refused", "已记录处理结果，但除名被拒绝，请检查该登记", "the decision is recorded but removing the duplicate registration was refused")
	ErrClockSkew         = apiErr(400, dsync.CodeClockSkew, "设备时钟超前于服务器，请校准时间后重新提交", "the device's clock is ahead of the server's: correct it and send again")
	ErrRequestTimeout    = apiErr(408, "request_timeout", "上传过慢，连接已超时，请稍后重试", "the request body arrived too slowly: try again")
	ErrBadDeviceID       = apiErr(400, "bad_device_id", "设备编号无效：须为 3-64 个字母、数字或 ._-，且不能以 server 开头", "device_id must be 3-64 letters, digits or ._- and must not begin with server")
	ErrBadPassword       = apiErr(400, "bad_password", "密码不符合要求", "the password does not meet the policy")
	ErrBadReason         = apiErr(400, "bad_reason", "请填写重新打开的理由（至多200字，不含控制字符）", "a reason is required to reopen (at most 200 characters, no control characters)")
	ErrNotDecided        = apiErr(409, "not_decided", "尚未处理，无需重新打开", "not decided yet: nothing to reopen")
	ErrEditRefused       = apiErr(400, "edit_refused", "修改未通过校验，未保存", "the edit fails the record's rules and was not saved")
	ErrBadElection       = apiErr(400, "bad_election", "选举设置无效", "the election's settings are invalid")
	ErrBackupUnavailable = apiErr(409, "backup_unavailable", "此存储没有内置备份（PostgreSQL 请用 pg_dump）", "this store has no backups of its own (PostgreSQL: use pg_dump)")
	ErrGenerationChanged = apiErr(409, "generation_changed", "服务器已从备份恢复：请先重新排队本机已提交的修改再推送", "the server was restored from a backup: put back what it acknowledged before pushing again")
	ErrChangePassword    = apiErr(403, "password_change_required", "请先修改一次性密码：用所附令牌调用 POST /v1/me/password", "change the one-time password first: call POST /v1/me/password with the token in details")
)

// Describe is how the API answers err: its status, stable code and message
// (Chinese / English). The console answers the errors of the functions it
// shares with the API through it.
func Describe(err error) (status int, code, message string) {
	e := toAPIError(err)
	return e.Status, e.Code, e.Message
}

// fail turns any error into the API's error response. It is the only place
// that does.
func fail(c *gin.Context, err error) {
	e := toAPIError(err)
	if e.Status >= 500 {
		// Errors carry no personal data by construction: stores and the
		// model report keys and codes, not field values.
		logger := slog.Default()
		if l, ok := c.Get(ctxLogger); ok {
			logger = l.(*slog.Logger)
		}
		logger.Error("request failed", "route", c.FullPath(), "err", err)
	}
	c.Abort()
	if e.Status == http.StatusServiceUnavailable {
		c.Header("Retry-After", retryAfterSeconds(c))
	}
	var te *accounts.ThrottledError
	if errors.As(err, &te) {
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(te.RetryAfter.Seconds()))))
	}
	respond(c, e.Status, dsync.ErrorBody{Error: dsync.APIError{Code: e.Code, Message: e.Message, Details: e.Details}})
}

func toAPIError(err error) *Error {
	var e *Error
	var badElection *election.InvalidError
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, store.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, store.ErrResolved):
		return ErrAlreadyResolved
	case errors.Is(err, store.ErrBadChoice):
		return ErrBadChoice
	case errors.Is(err, store.ErrReason):
		return ErrBadReason
	case errors.Is(err, store.ErrNotDecided):
		return ErrNotDecided
	case errors.Is(err, store.ErrEditRefused):
		return &Error{Status: 400, Code: ErrEditRefused.Code, Message: ErrEditRefused.Message + ": " + err.Error()}
	case errors.Is(err, accounts.ErrExists):
		return ErrUserExists
	case errors.Is(err, accounts.ErrInvalid):
		return &Error{Status: 400, Code: ErrBadUser.Code, Message: ErrBadUser.Message + ": " + err.Error()}
	case errors.Is(err, accounts.ErrBadCredentials):
		return ErrBadCredentials
	case errors.Is(err, accounts.ErrUserDisabled):
		return ErrUserDisabled
	case errors.Is(err, accounts.ErrDeviceRevoked):
		return ErrDeviceRevoked
	case errors.Is(err, accounts.ErrDeviceTaken):
		return ErrDeviceTaken
	case errors.Is(err, accounts.ErrBadDeviceID):
		return ErrBadDeviceID
	case errors.Is(err, accounts.ErrBadRefresh):
		return ErrUnauthorized
	case errors.Is(err, accounts.ErrTooManyAttempts):
		return ErrTooManyAttempts
	case errors.Is(err, accounts.ErrBadPassword):
		return passwordError(err)
	case errors.Is(err, accounts.ErrPasswordChangeRequired):
		return changeRequiredError(err)
	case errors.As(err, &badElection):
		return electionError(badElection)
	case errors.Is(err, dedupjob.ErrRunning):
		return ErrDedupRunning
	case errors.Is(err, dedupjob.ErrBadDecision):
		return ErrBadDecision
	case errors.Is(err, dedupjob.ErrNotMember):
		return ErrBadKeep
	case errors.Is(err, dedupjob.ErrDecided):
		return ErrAlreadyDecided
	case errors.Is(err, model.ErrNoticeAnswer):
		return ErrBadAnswer
	case errors.Is(err, model.ErrNoticeNote):
		return ErrBadNote
	case errors.Is(err, dedupjob.ErrRemoveRefused):
		return &Error{Status: ErrRemoveRefused.Status, Code: ErrRemoveRefused.Code,
			Message: ErrRemoveRefused.Message + ": " + err.Error()}
	case errors.Is(err, dsync.ErrBadColumns):
		return &Error{Status: ErrBadRequest.Status, Code: ErrBadRequest.Code,
			Message: "推送的列不对齐 / " + strings.TrimPrefix(err.Error(), "sync: ")}
	case isTooLarge(err), errors.Is(err, dsync.ErrPushTooLarge):
		return ErrTooLarge
	case errors.Is(err, store.ErrClockSkew):
		return clockSkewError(err)
	case errors.Is(err, errBusy):
		return ErrUnavailable
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return ErrUnavailable
	}
	return ErrInternal
}

func isTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// clockSkewError is ErrClockSkew with the server's time in its details.
func clockSkewError(err error) *Error {
	e := *ErrClockSkew
	var cs *store.ClockSkewError
	if errors.As(err, &cs) {
		e.Details, _ = json.Marshal(cs.ClockSkew)
	}
	return &e
}

// passwordError is ErrBadPassword naming the field and the rule broken.
func passwordError(err error) *Error {
	e := *ErrBadPassword
	var pe *accounts.PasswordError
	if errors.As(err, &pe) {
		zh, en, _ := strings.Cut(pe.Message, " / ")
		e.Message = "字段 " + pe.Field + "：" + zh + " / field " + pe.Field + ": " + en
		e.Details, _ = json.Marshal(map[string]string{"field": pe.Field})
	}
	return &e
}

// changeRequiredError is ErrChangePassword with the password-change token
// in its details: {"password_token":"…","expires_at":"…"}.
func changeRequiredError(err error) *Error {
	e := *ErrChangePassword
	var ce *accounts.ChangeRequiredError
	if errors.As(err, &ce) {
		e.Details, _ = json.Marshal(map[string]any{"password_token": ce.Token, "expires_at": ce.Expires.UTC()})
	}
	return &e
}
