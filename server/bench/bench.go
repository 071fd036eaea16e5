// Package bench measures sync end to end: real SDK devices with their own
// bbolt files push to and pull from a real server on a loopback listener,
// over a temporary data directory. `dengji bench sync` prints its figures.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync"
	"time"

	sdk "github.com/dengji/dengji/client-sdk"
	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/model/idcard"
	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/api"
	"github.com/dengji/dengji/server/store"
)

// Config sizes a run.
type Config struct {
	Records   int    // records one device pushes (the push figure)
	Bootstrap int    // records a new device bootstraps from (the server is filled up to this)
	Devices   int    // devices pushing at once (the concurrent figure)
	PerDevice int    // records each concurrent device pushes
	Dir       string // work directory; a temporary one if empty
	// Store is a postgres:// URL to run the server on PostgreSQL (in a
	// scratch schema of that database, dropped after); empty: bbolt.
	Store string
	// CPUProfile, if set, profiles each timed phase alone into
	// CPUProfile.push, CPUProfile.bootstrap and CPUProfile.concurrent.
	CPUProfile string
}

// DefaultConfig is the run the README's figures come from.
func DefaultConfig() Config {
	return Config{Records: 30000, Bootstrap: 30000, Devices: 100, PerDevice: 200}
}

// Figures are the results; the JSON keys are an interface outside scripts use.
type Figures struct {
	Records                   int     `json:"records"`
	PushSeconds               float64 `json:"push_seconds"`
	PushRecordsPerS           float64 `json:"push_records_per_s"`
	BootstrapRecords          int     `json:"bootstrap_records"`
	BootstrapSeconds          float64 `json:"bootstrap_seconds"`
	Devices                   int     `json:"devices"`
	ConcurrentRecords         int     `json:"concurrent_records"`
	ConcurrentSeconds         float64 `json:"concurrent_seconds"`
	ConcurrentPushRecordsPerS float64 `json:"concurrent_push_records_per_s"`
	Errors                    int     `json:"errors"`
	AvgRecordBytes            int     `json:"avg_record_bytes"`
}

const district = "430102001001"

// Sync runs the benchmark.
func Sync(ctx context.Context, cfg Config) (*Figures, error) {
	dir, done, err := workDir(cfg.Dir, "dengji-bench-")
	if err != nil {
		return nil, err
	}
	defer done()
	e, err := start(ctx, dir, cfg.Store)
	if err != nil {
		return nil, err
	}
	defer e.close()
	f := &Figures{Records: cfg.Records, Devices: cfg.Devices}
	steps := []func(context.Context, *env, Config, *Figures) error{measurePush, measureBootstrap, measureConcurrent}
	for _, step := range steps {
		if err := step(ctx, e, cfg, f); err != nil {
			return f, err
		}
	}
	return f, nil
}

// workDir is dir, or a new temporary directory that done removes.
func workDir(dir, prefix string) (string, func(), error) {
	if dir != "" {
		return dir, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", nil, err
	}
	return tmp, func() { os.RemoveAll(tmp) }, nil
}

type env struct {
	dir string
	st  store.Store
	srv *api.Server
	n   int // devices opened so far
}

func start(ctx context.Context, dir, pgURL string) (*env, error) {
	st, err := openStore(ctx, dir, pgURL)
	if err != nil {
		return nil, err
	}
	cfg := api.DefaultConfig()
	cfg.Validator = store.ModelValidator(model.Rules{ElectionDay: time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC)})
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := api.New(ctx, st, cfg)
	if err == nil {
		err = srv.Listen("127.0.0.1:0")
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	go srv.Serve()
	_, err = accounts.Add(ctx, st, accounts.NewUser{Name: "bench", Role: store.RoleRegistrar,
		Districts: []string{district}, Password: "bench-password"})
	return &env{dir: dir, st: st, srv: srv}, err
}

func (e *env) close() {
	e.srv.Close()
	e.st.Close()
}

// device opens a new device file and logs it in.
func (e *env) device(ctx context.Context) (*sdk.Device, error) {
	e.n++
	d, err := sdk.Open(filepath.Join(e.dir, fmt.Sprintf("device-%d.db", e.n)), sdk.Options{ServerURL: e.srv.URL()})
	if err != nil {
		return nil, err
	}
	if err := d.Login(ctx, "bench", "bench-password"); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func measurePush(ctx context.Context, e *env, cfg Config, f *Figures) error {
	d, err := e.device(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	size := 0
	for i := 0; i < cfg.Records; i++ {
		fields := Registration(rng, i)
		size += approxSize(fields)
		if _, err := d.Create(model.TypeRegistration, district, fields); err != nil {
			return fmt.Errorf("create: %w", err)
		}
	}
	if cfg.Records > 0 {
		f.AvgRecordBytes = size / cfg.Records
	}
	var rep sdk.SyncReport
	f.PushSeconds, err = timed(cfg, "push", func() (err error) {
		rep, err = d.Push(ctx)
		return err
	})
	if err != nil {
		return err
	}
	f.PushRecordsPerS = float64(cfg.Records) / f.PushSeconds
	f.Errors += cfg.Records - rep.Pushed["applied"]
	return nil
}

func measureBootstrap(ctx context.Context, e *env, cfg Config, f *Figures) error {
	if missing := cfg.Bootstrap - cfg.Records; missing > 0 {
		filler := Config{Records: missing}
		if err := measurePush(ctx, e, filler, &Figures{}); err != nil {
			return err
		}
	}
	d, err := e.device(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	var rep sdk.SyncReport
	f.BootstrapSeconds, err = timed(cfg, "bootstrap", func() (err error) {
		rep, err = d.Sync(ctx)
		return err
	})
	if err != nil {
		return err
	}
	f.BootstrapRecords = rep.Pulled
	return nil
}

func measureConcurrent(ctx context.Context, e *env, cfg Config, f *Figures) error {
	devs := make([]*sdk.Device, cfg.Devices)
	for i := range devs {
		d, err := e.device(ctx)
		if err != nil {
			return err
		}
		defer d.Close()
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		for j := 0; j < cfg.PerDevice; j++ {
			if _, err := d.Create(model.TypeRegistration, district, Registration(rng, j)); err != nil {
				return err
			}
		}
		devs[i] = d
	}
	var mu sync.Mutex
	var err error
	f.ConcurrentSeconds, err = timed(cfg, "concurrent", func() error {
		var wg sync.WaitGroup
		for _, d := range devs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rep, err := d.Push(ctx)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					f.Errors++
				}
				f.Errors += cfg.PerDevice - rep.Pushed["applied"]
			}()
		}
		wg.Wait()
		return nil
	})
	if err != nil {
		return err
	}
	f.ConcurrentRecords = cfg.Devices * cfg.PerDevice
	f.ConcurrentPushRecordsPerS = float64(f.ConcurrentRecords) / f.ConcurrentSeconds
	return nil
}

// timed runs one measured phase and returns its seconds, under the CPU
// profiler if the run asked for one.
func timed(cfg Config, phase string, fn func() error) (float64, error) {
	if cfg.CPUProfile != "" {
		out, err := os.Create(cfg.CPUProfile + "." + phase)
		if err != nil {
			return 0, err
		}
		defer out.Close()
		if err := pprof.StartCPUProfile(out); err != nil {
			return 0, err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	err := fn()
	return time.Since(start).Seconds(), err
}

func approxSize(fields map[string]json.RawMessage) int {
	n := 0
	for k, v := range fields {
		n += len(k) + len(v)
	}
	return n
}

var (
	surnames = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭"}
	given    = []string{"伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞"}
	streets  = []string{"人民路", "解放路", "建设路", "中山路", "新华街", "胜利路", "和平里", "水塘垸"}
)

// Registration makes a valid registration of about 500 bytes of JSON with
// 15 fields, deterministic in rng and i.
func Registration(rng *rand.Rand, i int) map[string]json.RawMessage {
	birth := time.Date(1940+rng.IntN(60), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
	seq := 100 + rng.IntN(900)
	gender := "F"
	if seq%2 == 1 {
		gender = "M"
	}
	addr := fmt.Sprintf("湖南省长沙市芙蓉区%s%d号%d栋%d单元%d室", streets[rng.IntN(len(streets))], 1+rng.IntN(300),
		1+rng.IntN(30), 1+rng.IntN(6), 101+rng.IntN(1800))
	r := model.Registration{
		Name:             surnames[rng.IntN(len(surnames))] + given[rng.IntN(len(given))],
		Gender:           gender,
		BirthDate:        birth.Format("2006-01-02"),
		IDNumber:         idcard.Compose("430102", birth.Format("20060102"), seq),
		HouseholdAddress: addr,
		ResidenceAddress: addr,
		Phone:            fmt.Sprintf("13%09d", rng.IntN(1_000_000_000)),
		VoterGroup:       fmt.Sprintf("第%d选民小组", 1+rng.IntN(12)),
		Channel:          "door",
		Status:           "registered",
		AdditionReason:   "new_18",
		Registrar:        "bench",
		Device:           "bench-device",
		Ref:              fmt.Sprintf("bench-%08d", i),
		CategoryNote:     "上门登记，本人在家，信息已核对",
	}
	return r.Fields()
}
