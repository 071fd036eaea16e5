package api

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"strings"

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
		return &Error{Status: 400, Code: ErrBadRequest.Code, Message: ErrBadRequest.Message + ": " + err.Error()}
	}
	return nil
}
