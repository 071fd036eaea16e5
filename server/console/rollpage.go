package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/dengji/dengji/server/api"
	"github.com/dengji/dengji/server/audit"
	"github.com/dengji/dengji/server/roll"
	"github.com/dengji/dengji/server/store"
)

// maxImport bounds an uploaded roll, as the API's body limit does.
const maxImport = 32 << 20

type rollPageData struct {
	Areas []string // the caller's scope entries (an admin: the counties with records)
}

func (c *Console) rollPage(q *request) {
	p := rollPageData{Areas: q.user.Districts}
	if q.user.Role == store.RoleAdmin {
		err := c.cfg.Store.View(q.r.Context(), func(tx store.Tx) error {
			ds, err := tx.FeedDistricts("")
			for _, d := range ds {
				if len(d) >= 6 && (len(p.Areas) == 0 || p.Areas[len(p.Areas)-1] != d[:6]) {
					p.Areas = append(p.Areas, d[:6])
				}
			}
			return err
		})
		if err != nil {
			c.failWith(q, err)
			return
		}
	}
	c.render(q, 200, "roll", "roll", "选民名单 / Roll", p)
}

// exportRoll writes the posted or office roll of a district (CSV or XLSX,
// roll.ExportRoll) or of a town or county (one XLSX with a sheet per
// district, or a ZIP of CSVs, roll.ExportArea), in the caller's scope.
func (c *Console) exportRoll(q *request) {
	v := q.r.URL.Query()
	area, format, posted := v.Get("district"), v.Get("format"), v.Get("posted") == "1"
	if area == "" || len(area) > 128 {
		c.failWith(q, badField("district", "请选择选区或区域", "choose a district or an area"))
		return
	}
	if !q.user.InScope(area) {
		c.failWith(q, api.ErrOutOfScope)
		return
	}
	var ds []string
	err := c.cfg.Store.View(q.r.Context(), func(tx store.Tx) error {
		var err error
		ds, err = store.DistrictsUnder(tx, []string{area})
		return err
	})
	if err != nil {
		c.failWith(q, err)
		return
	}
	var buf bytes.Buffer
	name := area
	switch {
	case len(ds) == 1 && ds[0] == area && (format == roll.FormatCSV || format == roll.FormatXLSX):
		_, err = roll.ExportRoll(c.actor(q), c.cfg.Store, &buf, roll.RollOptions{District: area, Format: format,
			Posted: posted, English: q.en})
	case format == roll.FormatXLSX || format == roll.FormatZIP:
		_, err = roll.ExportArea(c.actor(q), c.cfg.Store, &buf, roll.AreaOptions{Area: area, Districts: ds,
			Format: format, Posted: posted, English: q.en})
	default:
		err = badField("format", "格式应为 csv、xlsx 或 zip（区域只能 xlsx 或 zip）", "format must be csv, xlsx or zip (an area: xlsx or zip)")
	}
	if err != nil {
		c.failWith(q, err)
		return
	}
	if posted {
		name += "-posted"
	}
	download(q, name+"."+format, buf.Bytes())
}

// exportStats writes the statistics of the caller's scope as CSV
// (roll.ComputeStats, the API's GET /v1/export/stats).
func (c *Console) exportStats(q *request) {
	st, err := roll.ComputeStats(q.r.Context(), c.cfg.Store, q.user.InScope)
	if err != nil {
		c.failWith(q, err)
		return
	}
	var buf bytes.Buffer
	if err := st.WriteCSV(&buf, q.en); err != nil {
		c.failWith(q, err)
		return
	}
	download(q, "stats.csv", buf.Bytes())
}

func download(q *request, name string, data []byte) {
	q.w.Header().Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(name))
	q.w.Header().Set("Content-Type", http.DetectContentType(data))
	q.w.Write(data)
}

// importJob is an import running in the background, watched by the page.
type importJob struct {
	mu       sync.Mutex
	size     int64
	read     int64 // bytes of the file read so far
	rows     int
	done     bool
	ended    time.Time // when done
	report   *roll.Report
	err      error
	problems [][]string // every error and warning, for the report file
}

type importJobs struct {
	mu   sync.Mutex
	jobs map[string]*importJob
}

func newImportJobs() *importJobs { return &importJobs{jobs: map[string]*importJob{}} }

// keepImports is how long a finished import's report stays to download.
const keepImports = time.Hour

// add keeps a new job, and forgets those finished over keepImports ago.
func (ij *importJobs) add(id string, j *importJob) {
	ij.mu.Lock()
	defer ij.mu.Unlock()
	for old, oj := range ij.jobs {
		oj.mu.Lock()
		stale := oj.done && time.Since(oj.ended) > keepImports
		oj.mu.Unlock()
		if stale {
			delete(ij.jobs, old)
		}
	}
	ij.jobs[id] = j
}

// maxReportRows bounds the row problems kept for an import's report file.
const maxReportRows = 200_000

// startImport reads the uploaded file and imports it in the background
// (roll.ImportRegistrations, the API's and the CLI's import), answering
// the job's ID for the page to watch.
func (c *Console) startImport(q *request) {
	q.r.Body = http.MaxBytesReader(q.w, q.r.Body, maxImport)
	f, hdr, err := q.r.FormFile("file")
	if err != nil {
		c.failWith(q, badField("file", "请选择 CSV 或 XLSX 文件（至多 32 MiB）", "choose a CSV or XLSX file (at most 32 MiB)"))
		return
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		c.failWith(q, err)
		return
	}
	format := ""
	if strings.HasSuffix(strings.ToLower(hdr.Filename), ".xlsx") {
		format = roll.FormatXLSX
	}
	b := make([]byte, 8)
	rand.Read(b)
	id := hex.EncodeToString(b)
	job := &importJob{size: int64(len(data))}
	c.imports.add(id, job)
	ctx := audit.As(context.WithoutCancel(q.r.Context()), q.user.Name)
	go job.run(ctx, c.cfg.Store, data, roll.Options{Author: q.user.Name, Format: format})
	c.done(q, "/console/roll?import="+id, map[string]any{"id": id})
}

func (j *importJob) run(ctx context.Context, st store.Store, data []byte, opt roll.Options) {
	opt.ProgressEvery = 100
	opt.Progress = func(rows int) { j.mu.Lock(); j.rows = rows; j.mu.Unlock() }
	keep := func(kind string) func(roll.RowError) {
		return func(e roll.RowError) {
			j.mu.Lock()
			if len(j.problems) < maxReportRows {
				j.problems = append(j.problems, e.CSVRow(kind))
			}
			j.mu.Unlock()
		}
	}
	opt.OnError, opt.OnWarning = keep(roll.KindError), keep(roll.KindWarning)
	rep, err := roll.ImportRegistrations(ctx, st, &countingReader{r: bytes.NewReader(data), job: j}, opt)
	j.mu.Lock()
	j.done, j.ended, j.report, j.err = true, time.Now(), rep, err
	j.mu.Unlock()
}

type countingReader struct {
	r   io.Reader
	job *importJob
}

func (cr *countingReader) Read(p []byte) (int, error) {
	n, err := cr.r.Read(p)
	cr.job.mu.Lock()
	cr.job.read += int64(n)
	cr.job.mu.Unlock()
	return n, err
}

func (c *Console) job(q *request) *importJob {
	c.imports.mu.Lock()
	defer c.imports.mu.Unlock()
	return c.imports.jobs[q.r.PathValue("id")]
}

// importStatus is the job's progress for the page's bar: the share of the
// file read, the rows done, and when over the report's counts.
func (c *Console) importStatus(q *request) {
	j := c.job(q)
	if j == nil {
		c.refuse(q, 404, "not_found", "找不到该导入", "no such import")
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	out := map[string]any{"rows": j.rows, "done": j.done, "fraction": float64(j.read) / float64(max(j.size, 1))}
	if j.report != nil {
		out["report"] = map[string]int{"read": j.report.Read, "imported": j.report.Imported,
			"needs_verification": j.report.NeedsVerification, "rejected": j.report.Rejected,
			"unchanged": j.report.Unchanged, "problems": len(j.problems)}
	}
	if j.err != nil {
		_, code, msg := apiDescribe(j.err)
		out["error"] = map[string]string{"code": code, "message": msg}
	}
	sendJSON(q, 200, out)
}

// importReport is the CSV of the import's row errors and warnings.
func (c *Console) importReport(q *request) {
	j := c.job(q)
	if j == nil {
		c.refuse(q, 404, "not_found", "找不到该导入", "no such import")
		return
	}
	j.mu.Lock()
	rows := j.problems
	j.mu.Unlock()
	var buf bytes.Buffer
	buf.WriteString("\xEF\xBB\xBF")
	cw := csv.NewWriter(&buf)
	cw.Write(roll.RowErrorHeader)
	cw.WriteAll(rows)
	download(q, fmt.Sprintf("import-report-%s.csv", time.Now().In(china).Format("20060102-1504")), buf.Bytes())
}
