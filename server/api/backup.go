package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dengji/dengji/server/backup"
)

// Headers every answer carries, apart from any body format (the wire
// format of push and pull may change; these do not): the server's
// generation, which a restore from a backup changes; the backup watermark,
// the feed sequence every kept backup holds; and on push and pull the
// feed's highest sequence once the request was done, so a device knows
// that what a push answered is at or below it.
const (
	HeaderGeneration = "Dengji-Generation"
	HeaderBackupSeq  = "Dengji-Backup-Seq"
	HeaderSeq        = "Dengji-Seq"
)

// HeaderServerTiming on push and sync answers says how long the server
// worked on the request once its body had arrived (Server-Timing,
// "app;dur=" in milliseconds): what a device's round trip took beyond it
// was the link's, and the device compresses as hard as the link gives it
// time for.
const HeaderServerTiming = "Server-Timing"

// ctxReceived holds the time a request's body was read whole (readBody).
const ctxReceived = "dengji.received"

// stamp sets the generation and watermark headers, and for push and pull
// has the feed's sequence read when the answer is written (after the push
// committed). A push that names another generation than the server's (the
// device last saw a server that has since been restored from a backup) is
// refused whole, 409 generation_changed, nothing stored: the device must
// first put back into its outbox what the older server took, so that its
// changes arrive in their order (an edit after the create it edits).
func (s *Server) stamp(c *gin.Context) {
	h := c.Writer.Header()
	h.Set(HeaderGeneration, s.generation)
	h.Set(HeaderBackupSeq, strconv.FormatUint(s.backupWatermark(), 10))
	p := c.FullPath()
	if gen := c.GetHeader(HeaderGeneration); (p == apiPrefix+"/push" || p == apiPrefix+"/sync") && gen != "" && gen != s.generation {
		fail(c, ErrGenerationChanged)
		return
	}
	if p == apiPrefix+"/push" || p == apiPrefix+"/pull" || p == apiPrefix+"/sync" {
		c.Writer = &seqWriter{ResponseWriter: c.Writer, s: s, c: c}
	}
	c.Next()
}

func (s *Server) backupWatermark() uint64 {
	if s.cfg.Backups == nil {
		return 0
	}
	return s.cfg.Backups.Watermark()
}

// seqWriter sets Dengji-Seq just before the status line goes out.
type seqWriter struct {
	gin.ResponseWriter
	s       *Server
	c       *gin.Context
	stamped bool
}

func (w *seqWriter) before() {
	if w.stamped {
		return
	}
	w.stamped = true
	if high, err := w.s.highSeq(w.c); err == nil {
		w.Header().Set(HeaderSeq, strconv.FormatUint(high, 10))
	}
	if t, ok := w.c.Get(ctxReceived); ok {
		ms := float64(time.Since(t.(time.Time)).Microseconds()) / 1000
		w.Header().Set(HeaderServerTiming, "app;dur="+strconv.FormatFloat(ms, 'f', 1, 64))
	}
}

// Unwrap lets http.ResponseController reach the connection (the body
// guard sets its read deadlines through it).
func (w *seqWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *seqWriter) WriteHeaderNow() { w.before(); w.ResponseWriter.WriteHeaderNow() }

func (w *seqWriter) Write(b []byte) (int, error) { w.before(); return w.ResponseWriter.Write(b) }

func (w *seqWriter) WriteString(s string) (int, error) {
	w.before()
	return w.ResponseWriter.WriteString(s)
}

// takeBackup is POST /v1/admin/backup: a backup now, while serving; the
// answer is its manifest.
func (s *Server) takeBackup(c *gin.Context) {
	if s.cfg.Backups == nil {
		fail(c, ErrBackupUnavailable)
		return
	}
	info, err := s.cfg.Backups.Take(c)
	if err != nil {
		fail(c, err)
		return
	}
	respond(c, 200, info)
}

// listBackups is GET /v1/admin/backups: the kept backups, oldest first, and
// the watermark.
func (s *Server) listBackups(c *gin.Context) {
	if s.cfg.Backups == nil {
		fail(c, ErrBackupUnavailable)
		return
	}
	list, err := s.cfg.Backups.List()
	if err != nil {
		fail(c, err)
		return
	}
	if list == nil {
		list = []backup.Info{}
	}
	respond(c, 200, struct {
		Backups    []backup.Info `json:"backups"`
		Watermark  uint64        `json:"watermark"`
		Generation string        `json:"generation"`
	}{list, s.backupWatermark(), s.generation})
}
