package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/dengji/dengji/server/roll"
	"github.com/dengji/dengji/server/store"
)

// importFunc is roll.ImportRegistrations or roll.ImportDistricts.
type importFunc func(c *gin.Context, st store.Store, r io.Reader, opt roll.Options) (*roll.Report, error)

func (s *Server) importRegistrations(c *gin.Context) {
	s.importFile(c, func(c *gin.Context, st store.Store, r io.Reader, opt roll.Options) (*roll.Report, error) {
		return roll.ImportRegistrations(actor(c), st, r, opt)
	})
}

func (s *Server) importDistricts(c *gin.Context) {
	s.importFile(c, func(c *gin.Context, st store.Store, r io.Reader, opt roll.Options) (*roll.Report, error) {
		return roll.ImportDistricts(actor(c), st, r, opt)
	})
}

// importFile takes the file as the "file" part of a multipart form or as
// the raw body, ?format=csv|xlsx (default: by the part's file name, then by
// content), and answers the import report, row errors included. The body
// is streamed, never parsed into memory as a form.
func (s *Server) importFile(c *gin.Context, run importFunc) {
	body, name, err := uploadedFile(c)
	if err != nil {
		fail(c, err)
		return
	}
	format := c.Query("format")
	if format == "" {
		format = roll.FormatOf(name)
	}
	rep, err := run(c, s.store, body, roll.Options{Author: user(c).Name, Format: format})
	if err != nil {
		fail(c, importError(err))
		return
	}
	respond(c, 200, rep)
}

func uploadedFile(c *gin.Context) (io.Reader, string, error) {
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if mt != "multipart/form-data" {
		return c.Request.Body, "", nil
	}
	mr, err := c.Request.MultipartReader()
	if err != nil {
		return nil, "", ErrBadRequest
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, "", &Error{Status: 400, Code: ErrBadRequest.Code,
				Message: ErrBadRequest.Message + ": 缺少 file 部分 / no part named file"}
		}
		if err != nil {
			return nil, "", ErrBadRequest
		}
		if part.FormName() == "file" {
			return part, part.FileName(), nil
		}
	}
}

// importError makes an unreadable file a 400 that says why.
func importError(err error) error {
	if isTooLarge(err) {
		return &Error{Status: 413, Code: ErrTooLarge.Code,
			Message: ErrTooLarge.Message + "; 大文件请用命令行 dengji import / import large files with the dengji import command"}
	}
	if errors.Is(err, roll.ErrFormat) || errors.Is(err, roll.ErrEncoding) {
		return &Error{Status: 400, Code: ErrBadRequest.Code, Message: ErrBadRequest.Message + ": " + err.Error()}
	}
	return err
}

// exportRoll sends a district's voter roll:
// ?district=CODE&format=csv|xlsx&posted=1&lang=en.
func (s *Server) exportRoll(c *gin.Context) {
	district := c.Query("district")
	if district == "" {
		fail(c, ErrBadRequest)
		return
	}
	if !user(c).InScope(district) {
		fail(c, ErrOutOfScope)
		return
	}
	opt := roll.RollOptions{District: district, Format: c.DefaultQuery("format", roll.FormatCSV),
		Posted: truthy(c.Query("posted")), English: c.Query("lang") == "en"}
	ctype := "text/csv; charset=utf-8"
	switch opt.Format {
	case roll.FormatCSV:
	case roll.FormatXLSX:
		ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	default:
		fail(c, ErrBadRequest)
		return
	}
	kind := "office"
	if opt.Posted {
		kind = "posted"
	}
	file := fmt.Sprintf("roll-%s-%s.%s", district, kind, opt.Format)
	c.Header("Content-Type", ctype)
	c.Header("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(file))
	c.Header("Cache-Control", "no-store") // personal data
	c.Status(http.StatusOK)
	_, err := roll.ExportRoll(actor(c), s.store, c.Writer, opt)
	switch {
	case err == nil:
	case !c.Writer.Written(): // e.g. an unknown district: nothing sent yet
		c.Writer.Header().Del("Content-Disposition")
		fail(c, rollError(err))
	default:
		c.Error(err) // the status is sent; a truncated body is all we can do
	}
}

func rollError(err error) error {
	if errors.Is(err, roll.ErrUnknownDistrict) {
		return ErrNotFound
	}
	return err
}

// exportStats sends the statistics of the caller's districts, rolled up to
// towns and counties: ?format=json|csv&lang=en.
func (s *Server) exportStats(c *gin.Context) {
	st, err := roll.ComputeStats(c, s.store, user(c).InScope)
	if err != nil {
		fail(c, err)
		return
	}
	switch c.DefaultQuery("format", "json") {
	case "json":
		respond(c, 200, st)
	case "csv":
		c.Header("Content-Type", "text/csv; charset=utf-8")
		c.Header("Content-Disposition", "attachment; filename=stats.csv")
		c.Status(http.StatusOK)
		if err := st.WriteCSV(c.Writer, c.Query("lang") == "en"); err != nil {
			c.Error(err)
		}
	default:
		fail(c, ErrBadRequest)
	}
}

func truthy(s string) bool {
	switch strings.ToLower(s) {
	case "1", "true", "yes":
		return true
	}
	return false
}
