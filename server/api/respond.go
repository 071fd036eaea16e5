package api

import (
	"bytes"
	"compress/gzip"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	json "github.com/dengji/dengji/internal/jsonx"
	"github.com/gin-gonic/gin"
)

// gzipMin is the body size above which a response is compressed for clients
// that accept gzip: registrars sync over slow rural networks.
const gzipMin = 1024

// respond writes v as JSON, gzip'd when the client accepts it and it pays.
func respond(c *gin.Context, status int, v any) {
	body, err := json.MarshalUnordered(v)
	if err != nil {
		status, body = 500, []byte(`{"error":{"code":"internal","message":"服务器内部错误 / internal server error"}}`)
	}
	respondJSON(c, status, body)
}

// respondJSON writes an encoded JSON body, gzip'd when it pays.
func respondJSON(c *gin.Context, status int, body []byte) {
	respondJSONLevel(c, status, body, gzip.BestSpeed)
}

// respondJSONLevel is respondJSON with a gzip level of its own.
func respondJSONLevel(c *gin.Context, status int, body []byte, level int) {
	h := c.Writer.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Vary", "Accept-Encoding")
	if len(body) < gzipMin || !strings.Contains(c.GetHeader("Accept-Encoding"), "gzip") {
		c.Data(status, "application/json; charset=utf-8", body)
		return
	}
	h.Set("Content-Encoding", "gzip")
	c.Status(status)
	zw, _ := gzip.NewWriterLevel(c.Writer, level)
	zw.Write(body)
	zw.Close()
}

// bind decodes a JSON request body (already size-limited and decompressed by
// the middleware) into v, refusing unknown fields.
func bind(c *gin.Context, v any) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	return decode(body, v)
}

// readBody reads the whole request body. Read first, decode after: the size
// cap reports itself through the reader's error, which a decoder need not
// pass on intact.
func readBody(c *gin.Context) ([]byte, error) {
	body, err := io.ReadAll(c.Request.Body)
	switch {
	case err == nil:
		c.Set(ctxReceived, time.Now())
		return body, nil
	case isTooLarge(err):
		return nil, ErrTooLarge
	case errors.Is(err, errBusy):
		return nil, ErrUnavailable
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, ErrRequestTimeout
	}
	return nil, ErrBadRequest
}

// decode reads one JSON value from body into v, refusing unknown fields and
// anything but white space after the value.
func decode(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		var extra struct{}
		if dec.Decode(&extra) != io.EOF {
			err = errors.New("data after the JSON value")
		}
	}
	if err != nil {
		return decodeError(body, v)
	}
	return nil
}

// decodeError words why body does not decode into v: the field and what it
// should hold, or where the JSON is broken, Chinese then English, with
// details {field, expected, got} or {offset} for programs. The standard
// library decodes again for this: its errors name the JSON field by its
// path (inner.value), the fast decoder's do not. Only failures pay for it.
func decodeError(body []byte, v any) *Error {
	dec := stdjson.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(reflect.New(reflect.TypeOf(v).Elem()).Interface())
	if err == nil && dec.More() {
		err = errors.New("data after")
	}
	var te *stdjson.UnmarshalTypeError
	var se *stdjson.SyntaxError
	var zh, en string
	var details any
	switch {
	case errors.As(err, &te) && te.Field == "":
		ezh, een := expected(te.Type)
		zh, en = "请求体应为"+ezh, "the body must be "+een
	case errors.As(err, &te):
		ezh, een := expected(te.Type)
		zh = fmt.Sprintf("字段 %s 应为%s，收到的是 %s", te.Field, ezh, te.Value)
		en = fmt.Sprintf("field %s: expected %s, got %s", te.Field, een, te.Value)
		details = map[string]string{"field": te.Field, "expected": een, "got": te.Value}
	case err != nil && strings.HasPrefix(err.Error(), "json: unknown field "):
		f, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		zh, en = "不认识的字段 "+f, "unknown field "+f
		details = map[string]string{"field": f, "expected": "no such field"}
	case errors.As(err, &se):
		zh = fmt.Sprintf("JSON 语法错误（第 %d 字节）", se.Offset)
		en = fmt.Sprintf("JSON syntax error at byte %d: %v", se.Offset, se)
		details = map[string]int64{"offset": se.Offset}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		zh, en = "请求体为空或不完整", "the body is empty or cut short"
	case err != nil && err.Error() == "data after":
		zh, en = "JSON 值之后还有内容", "data after the JSON value"
	default:
		zh, en = "请求体无法解析", "the body cannot be read as the JSON expected"
	}
	e := &Error{Status: 400, Code: ErrBadRequest.Code, Message: "请求格式错误：" + zh + " / the request is malformed: " + en}
	if details != nil {
		e.Details, _ = stdjson.Marshal(details)
	}
	return e
}

// expected names what a Go type takes in JSON.
func expected(t reflect.Type) (zh, en string) {
	switch t.Kind() {
	case reflect.String:
		return "字符串", "a string"
	case reflect.Bool:
		return "true 或 false", "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "整数", "an integer"
	case reflect.Float32, reflect.Float64:
		return "数字", "a number"
	case reflect.Slice, reflect.Array:
		return "数组", "an array"
	}
	return "对象", "an object"
}
