package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dengji/dengji/server/store"
	dsync "github.com/dengji/dengji/sync"
)

// metrics are the server's Prometheus metrics, in a registry of its own
// (two servers in one test process do not share counters). Labels are
// routes as declared, statuses and result codes: never a user, a device, a
// district or anything typed on a device.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	changes   *prometheus.CounterVec
	pushes    *prometheus.CounterVec
	pullBytes prometheus.Counter
	pulled    prometheus.Counter
	opened    prometheus.Counter
	resolved  prometheus.Counter
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dengji_http_requests_total",
			Help: "HTTP requests by route, method and status."}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "dengji_http_request_duration_seconds",
			Help:    "HTTP request latency by route and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}},
			[]string{"route", "method"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dengji_push_changes_total",
			Help: "Pushed changes by result status (applied, duplicate, conflict, rejected) and rejection code."},
			[]string{"status", "code"}),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dengji_pushes_total",
			Help: "Push requests by HTTP status."}, []string{"status"}),
		pullBytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "dengji_pull_bytes_total",
			Help: "Bytes of pull answers sent (after compression)."}),
		pulled: prometheus.NewCounter(prometheus.CounterOpts{Name: "dengji_pull_requests_total",
			Help: "Pull pages answered."}),
		opened: prometheus.NewCounter(prometheus.CounterOpts{Name: "dengji_conflicts_opened_total",
			Help: "Conflicts pushes opened for a coordinator."}),
		resolved: prometheus.NewCounter(prometheus.CounterOpts{Name: "dengji_conflicts_resolved_total",
			Help: "Conflicts a coordinator resolved."}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.changes, m.pushes, m.pullBytes, m.pulled, m.opened, m.resolved,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&stateCollector{s})
	return m
}

// observe counts a finished request; push results are counted where they
// are made (pushed), the rest here from the route and status.
func (m *metrics) observe(c *gin.Context, elapsed time.Duration) {
	route := c.FullPath()
	if route == "" {
		route = "unmatched" // never the raw path: it may hold anything
	}
	status := strconv.Itoa(c.Writer.Status())
	m.requests.WithLabelValues(route, c.Request.Method, status).Inc()
	m.latency.WithLabelValues(route, c.Request.Method).Observe(elapsed.Seconds())
	switch route {
	case apiPrefix + "/push":
		m.pushes.WithLabelValues(status).Inc()
	case apiPrefix + "/pull":
		m.pulled.Inc()
		m.pullBytes.Add(float64(max(c.Writer.Size(), 0)))
	case apiPrefix + "/conflicts/:id/resolve":
		if c.Writer.Status() == http.StatusOK {
			m.resolved.Inc()
		}
	}
}

// pushed counts a push's results by status and code.
func (m *metrics) pushed(results []dsync.Result) {
	for i := range results {
		m.changes.WithLabelValues(string(results[i].Status), results[i].Code).Inc()
		if results[i].Status != dsync.StatusDuplicate {
			m.opened.Add(float64(len(results[i].Conflicts)))
		}
	}
}

var (
	descDedupRunning = prometheus.NewDesc("dengji_dedup_running", "1 while a duplicate check runs.", nil, nil)
	descDedupDone    = prometheus.NewDesc("dengji_dedup_progress_done",
		"Records done in the running duplicate check's phase.", []string{"phase"}, nil)
	descDedupTotal = prometheus.NewDesc("dengji_dedup_progress_total",
		"Records of the running duplicate check's phase (0: not known).", []string{"phase"}, nil)
	descDedupCases = prometheus.NewDesc("dengji_dedup_last_cases",
		"Cases of the last finished duplicate check, by kind.", []string{"kind"}, nil)
	descStoreBytes = prometheus.NewDesc("dengji_store_size_bytes", "Size of the store's data.", nil, nil)
	descFeedSeq    = prometheus.NewDesc("dengji_feed_sequence", "Highest sequence of the change feed.", nil, nil)
	descBackupTime = prometheus.NewDesc("dengji_backup_last_timestamp_seconds", "When the newest backup was taken (Unix time).", nil, nil)
	descBackupDur  = prometheus.NewDesc("dengji_backup_last_duration_seconds", "How long the newest backup took.", nil, nil)
	descBackupSize = prometheus.NewDesc("dengji_backup_last_size_bytes", "Size of the newest backup.", nil, nil)
	descBackupWM   = prometheus.NewDesc("dengji_backup_watermark", "Feed sequence every kept backup holds.", nil, nil)
	descBackupFail = prometheus.NewDesc("dengji_backup_failures_total", "Backups that failed since the start.", nil, nil)
)

// stateCollector reads, at each scrape, what the server holds rather than
// counts: the duplicate check's progress, the store's size and feed.
type stateCollector struct{ s *Server }

func (sc *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDedupRunning, descDedupDone, descDedupTotal,
		descDedupCases, descStoreBytes, descFeedSeq, descBackupTime, descBackupDur, descBackupSize, descBackupWM, descBackupFail} {
		ch <- d
	}
}

func (sc *stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := sc.s
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	if st, err := s.dedup.Status(ctx); err == nil {
		running := 0.0
		if st.Running {
			running = 1
			ch <- prometheus.MustNewConstMetric(descDedupDone, prometheus.GaugeValue, float64(st.Done), st.Phase)
			ch <- prometheus.MustNewConstMetric(descDedupTotal, prometheus.GaugeValue, float64(st.Total), st.Phase)
		}
		ch <- prometheus.MustNewConstMetric(descDedupRunning, prometheus.GaugeValue, running)
		if l := st.Last; l != nil {
			ch <- prometheus.MustNewConstMetric(descDedupCases, prometheus.GaugeValue, float64(l.Auto), "auto")
			ch <- prometheus.MustNewConstMetric(descDedupCases, prometheus.GaugeValue, float64(l.Review), "review")
			ch <- prometheus.MustNewConstMetric(descDedupCases, prometheus.GaugeValue, float64(l.Confirmed), "confirmed")
			ch <- prometheus.MustNewConstMetric(descDedupCases, prometheus.GaugeValue, float64(l.Rejected), "rejected")
		}
	}
	if s.cfg.StoreSize != nil {
		ch <- prometheus.MustNewConstMetric(descStoreBytes, prometheus.GaugeValue, float64(s.cfg.StoreSize()))
	}
	if high, err := s.highSeq(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(descFeedSeq, prometheus.GaugeValue, float64(high))
	}
	if b := s.cfg.Backups; b != nil {
		ch <- prometheus.MustNewConstMetric(descBackupWM, prometheus.GaugeValue, float64(b.Watermark()))
		ch <- prometheus.MustNewConstMetric(descBackupFail, prometheus.CounterValue, float64(b.Failures()))
		if last := b.Last(); last != nil {
			ch <- prometheus.MustNewConstMetric(descBackupTime, prometheus.GaugeValue, float64(last.Created.Unix()))
			ch <- prometheus.MustNewConstMetric(descBackupDur, prometheus.GaugeValue, last.Seconds)
			ch <- prometheus.MustNewConstMetric(descBackupSize, prometheus.GaugeValue, float64(last.Size))
		}
	}
}

// highSeq is the feed's highest sequence.
func (s *Server) highSeq(ctx context.Context) (uint64, error) {
	var high uint64
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		high, err = tx.HighSeq()
		return err
	})
	return high, err
}

// MetricsHandler serves the metrics in Prometheus's text format. Mount it on
// a listener of its own or behind authentication: it is not in the route
// table.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
}

// Healthz answers 200 while the process serves.
func (s *Server) Healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"status":"ok"}` + "\n"))
}

// Readyz answers 200 when the store answers a read within 2 s and the
// server is not shutting down, else 503: a load balancer stops sending.
func (s *Server) Readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	err := s.ctx.Err()
	if err == nil {
		_, err = s.highSeq(ctx)
	}
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"status":"unavailable"}` + "\n"))
		return
	}
	w.Write([]byte(`{"status":"ready"}` + "\n"))
}

// requestIDHeader carries a request's ID: the client's if it sent a sane
// one (a proxy's), else one made here; answered back and put in every log
// line of the request.
const requestIDHeader = "X-Request-ID"

func requestID(c *gin.Context) string {
	if id := c.GetHeader(requestIDHeader); len(id) >= 8 && len(id) <= 64 && isToken(id) {
		return id
	}
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// isToken reports whether s holds letters, digits and ._- only: what may
// go into a log line and a header as it is.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// rootHandler is what the listener serves: /healthz and /readyz (no
// authentication: they tell nothing but up and ready), and the API.
func (s *Server) rootHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.Healthz)
	mux.HandleFunc("GET /readyz", s.Readyz)
	mux.Handle("/", s.Handler())
	return mux
}
