package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/dengji/dengji/model"
	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/api"
	"github.com/dengji/dengji/server/auth"
	"github.com/dengji/dengji/server/backup"
	"github.com/dengji/dengji/server/config"
	"github.com/dengji/dengji/server/election"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore"
	"github.com/dengji/dengji/server/store/pgstore"
)

func init() {
	commands["serve"] = command{"运行服务器 / run the server", runServe}
}

func runServe(ctx context.Context, args []string, out io.Writer) error {
	cfg, day, err := serveConfig(args)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log)
	slog.SetDefault(log)
	return withStore(cfg.Data, func(st store.Store) error {
		keys, err := loadKeys(ctx, st, cfg.Data, cfg.KeyFile, out) // first: a server that cannot sign writes nothing
		if err != nil {
			return err
		}
		e, err := loadElection(ctx, st, day)
		if err != nil {
			return err
		}
		if pw, err := accounts.EnsureAdmin(ctx, st); err != nil {
			return err
		} else if pw != "" {
			fmt.Fprintf(out, "已创建管理员账号 admin（首次登录须修改密码），一次性密码 / created account admin (to change its password at first sign-in) with one-time password: %s\n", pw)
		}
		acfg := cfg.APIConfig(api.DefaultConfig())
		acfg.Election = election.NewLive(e)
		acfg.Validator = store.LiveModelValidator(acfg.Election.Rules)
		acfg.Logger = log
		if !pgstore.IsURL(cfg.Data) {
			acfg.StoreSize = fileSize(filepath.Join(cfg.Data, boltstore.FileName))
		}
		acfg.Keys = keys
		if _, ok := st.(backup.Snapshotter); ok {
			if acfg.Backups, err = newBackups(ctx, st, backupDirPath(cfg.Data, cfg.Backup.Dir), cfg.Backup.Keep); err != nil {
				return err
			}
			if every := time.Duration(cfg.Backup.Every); every > 0 {
				go acfg.Backups.Run(ctx, every)
			}
		}
		return serve(ctx, st, acfg, cfg, out)
	})
}

// serveConfig is serve's configuration: the defaults, over them the file of
// --config (or $DENGJI_CONFIG), over it the flags given; and the election
// day flag.
func serveConfig(args []string) (config.Config, string, error) {
	cfg := config.DefaultConfig()
	var cfgFile, day string
	var f config.Config // the flags' values; only those given are used
	fs := newFlags("serve", &f.Data)
	fs.StringVar(&cfgFile, "config", os.Getenv("DENGJI_CONFIG"), "配置文件（TOML，见 README）/ configuration file (TOML, see the README; $DENGJI_CONFIG)")
	keyFlag(fs, &f.KeyFile)
	fs.StringVar(&f.Listen, "addr", cfg.Listen, "监听地址 / listen address")
	fs.StringVar(&f.TLS.Cert, "tls-cert", "", "TLS 证书文件（PEM），给出时直接提供 HTTPS / TLS certificate file (PEM): serve HTTPS directly")
	fs.StringVar(&f.TLS.Key, "tls-key", "", "TLS 私钥文件（PEM）/ TLS key file (PEM)")
	fs.StringVar(&f.Log.Format, "log-format", cfg.Log.Format, "日志格式 text|json / log format")
	fs.StringVar(&f.Metrics.Listen, "metrics-addr", "", "指标和健康检查的监听地址（无认证）/ listen address of /metrics, /healthz, /readyz (no authentication)")
	fs.StringVar(&day, "election-day", "", "选举日 YYYY-MM-DD：尚未设置选举时保存（之后用 dengji election set 修改）/ election day, kept if no election is set yet (then: dengji election set)")
	fs.TextVar(&f.Dedup.Every, "dedup-every", cfg.Dedup.Every, "新登记持续查重的检查间隔（0 关闭）/ how often new registrations are matched for duplicates (0: off)")
	if err := parse(fs, args); err != nil {
		return cfg, "", err
	}
	cfg.Data = f.Data // $DENGJI_DATA or the default, unless the file says
	if cfgFile != "" {
		if err := config.Read(cfgFile, &cfg); err != nil {
			return cfg, "", err
		}
	}
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "data", "store":
			cfg.Data = f.Data
		case "key-file":
			cfg.KeyFile = f.KeyFile
		case "addr":
			cfg.Listen = f.Listen
		case "tls-cert":
			cfg.TLS.Cert = f.TLS.Cert
		case "tls-key":
			cfg.TLS.Key = f.TLS.Key
		case "log-format":
			cfg.Log.Format = f.Log.Format
		case "metrics-addr":
			cfg.Metrics.Listen = f.Metrics.Listen
		case "dedup-every":
			cfg.Dedup.Every = f.Dedup.Every
		}
	})
	if cfg.KeyFile == "" {
		cfg.KeyFile = os.Getenv("DENGJI_KEY_FILE")
	}
	return cfg, day, cfg.Validate()
}

// newLogger logs to stderr as text or JSON, from the configured level.
func newLogger(l config.Log) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(l.Level)) // validated
	opts := &slog.HandlerOptions{Level: level}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(logOutput, opts))
	}
	return slog.New(slog.NewTextHandler(logOutput, opts))
}

// logOutput is where the server logs; tests read it.
var logOutput io.Writer = os.Stderr

// fileSize reports the size of path, 0 if it cannot be read.
func fileSize(path string) func() int64 {
	return func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
}

func serve(ctx context.Context, st store.Store, acfg api.Config, cfg config.Config, out io.Writer) error {
	srv, err := api.New(ctx, st, acfg)
	if err != nil {
		return err
	}
	if err := mountConsole(srv, st, acfg); err != nil {
		return err
	}
	if cfg.TLS.Cert != "" {
		err = srv.ListenTLS(cfg.Listen, cfg.TLS.Cert, cfg.TLS.Key)
	} else {
		err = srv.Listen(cfg.Listen)
	}
	if err != nil {
		return err
	}
	errc := make(chan error, 2)
	if cfg.Metrics.Listen != "" {
		ms, err := serveMetrics(srv, cfg.Metrics.Listen, errc)
		if err != nil {
			srv.Close()
			return err
		}
		defer ms.Close()
		fmt.Fprintf(out, "指标 / metrics on http://%s/metrics\n", ms.Addr)
	}
	fmt.Fprintf(out, "Dengji 服务已启动 / serving on %s\n管理控制台 / console: %s/console/\n", srv.URL(), srv.URL())
	go func() { errc <- srv.Serve() }()
	select {
	case err := <-errc:
		srv.Close()
		return err
	case <-ctx.Done():
		fmt.Fprintln(out, "正在停止 / shutting down")
		return srv.Close()
	}
}

// serveMetrics serves /metrics, /healthz and /readyz on a listener of their
// own; its Addr is the address bound.
func serveMetrics(srv *api.Server, addr string, errc chan<- error) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("指标监听地址 / metrics listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", srv.MetricsHandler())
	mux.HandleFunc("GET /healthz", srv.Healthz)
	mux.HandleFunc("GET /readyz", srv.Readyz)
	hs := &http.Server{Handler: mux, Addr: ln.Addr().String(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	return hs, nil
}

// loadElection reads the stored election. The --election-day flag only
// seeds one when none is stored (then named after its day): once set, the
// election changes through dengji election set or the admin API, audited.
func loadElection(ctx context.Context, st store.Store, flagDay string) (model.Election, error) {
	var e model.Election
	err := st.Update(ctx, func(tx store.Tx) (err error) {
		if e, err = election.Get(tx); err != nil || e.Day != "" || flagDay == "" {
			return err
		}
		e = model.Election{Name: flagDay + " 选举 / election of " + flagDay, Day: flagDay}
		_, err = election.Set(ctx, tx, e)
		return err
	})
	switch {
	case errors.Is(err, election.ErrInvalid):
		return e, fmt.Errorf("%w: 选举日格式应为 YYYY-MM-DD / election day must be YYYY-MM-DD: %q", errUsage, flagDay)
	case err == nil && e.Day == "":
		slog.Warn("no election day set: the age check is off; set it with dengji election set --day")
	case err == nil && flagDay != "" && flagDay != e.Day:
		slog.Warn("--election-day ignored: an election is stored; change it with dengji election set", "stored", e.Day)
	}
	return e, err
}

// keyFlag adds --key-file.
func keyFlag(fs *flag.FlagSet, keyFile *string) {
	fs.StringVar(keyFile, "key-file", os.Getenv("DENGJI_KEY_FILE"),
		"令牌签名密钥文件（默认为数据目录旁的 DIR.keys）/ token signing key file (default DIR.keys beside the data directory; $DENGJI_KEY_FILE)")
}

// keyFilePath is the key file: the flag's, or DIR.keys beside the data
// directory, never inside it (a copy of the data must mint no tokens). A
// database has no beside: its servers must be given one key file (or
// DENGJI_SIGNING_KEY), the same on each, so tokens one signs the others take.
func keyFilePath(dir, keyFile string) (string, error) {
	switch {
	case keyFile != "":
		return keyFile, nil
	case pgstore.IsURL(dir):
		return "", errors.New("使用 PostgreSQL 时须以 --key-file 或 DENGJI_SIGNING_KEY 指定签名密钥（各服务器相同）/ " +
			"with --store postgres://, give the signing keys in --key-file or DENGJI_SIGNING_KEY (the same on every server)")
	}
	return filepath.Clean(dir) + ".keys", nil
}

// loadKeys reads the token signing keys from DENGJI_SIGNING_KEY or the key
// file (created 0600 on first start; refused if others may read it). A key
// an older version left in the data file is moved to the key file, where it
// only verifies the tokens it signed (a fresh key signs), and deleted from
// the data file.
func loadKeys(ctx context.Context, st store.Store, dir, keyFile string, out io.Writer) (*auth.KeySet, error) {
	legacy, err := accounts.TakeLegacySigningKey(ctx, st)
	if err != nil {
		return nil, err
	}
	var ks *auth.KeySet
	if env := os.Getenv("DENGJI_SIGNING_KEY"); env != "" {
		if ks, err = auth.ParseEnvKeys(env); err != nil {
			return nil, err
		}
	} else {
		path, err := keyFilePath(dir, keyFile)
		if err != nil {
			return nil, err
		}
		var created bool
		if ks, created, err = auth.OpenKeyFile(path, nil); err != nil {
			return nil, fmt.Errorf("签名密钥 / signing key: %w", err)
		}
		if created {
			fmt.Fprintf(out, "已创建签名密钥文件 / created the signing key file %s\n", path)
		}
		if legacy != nil {
			if err := auth.AddKey(path, auth.Key{ID: auth.LegacyKeyID, Secret: legacy}); err != nil {
				return nil, fmt.Errorf("move the signing key out of the data file: %w", err)
			}
			if ks, err = auth.LoadKeyFile(path); err != nil {
				return nil, err
			}
			fmt.Fprintf(out, "旧版本保存在数据文件中的签名密钥已移至 %s（仅用于验证，15 分钟后可执行 dengji key remove legacy）/ "+
				"moved the signing key an older version kept in the data file to %s (verify only; run dengji key remove legacy after 15 minutes)\n", path, path)
		}
	}
	if legacy != nil {
		if err := accounts.RemoveLegacySigningKey(ctx, st); err != nil {
			return nil, err
		}
	}
	return ks, nil
}
