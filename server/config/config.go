// Package config is what `dengji serve` runs with: a TOML file
// (sample.toml, shown in the README), its defaults and its checks. Flags of
// serve override the file.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/dengji/dengji/server/api"
	"github.com/dengji/dengji/server/dedupjob"
)

// Config is the server's configuration.
type Config struct {
	// Listen is the API's address (host:port).
	Listen string `toml:"listen"`
	// Data is the store: the data directory of the embedded bbolt store,
	// or a postgres:// URL where that backend is built in (the same as
	// --data).
	Data string `toml:"data"`
	// KeyFile holds the token signing keys ("" : DATA.keys beside the data
	// directory).
	KeyFile string  `toml:"key_file"`
	TLS     TLS     `toml:"tls"`
	Log     Log     `toml:"log"`
	Metrics Metrics `toml:"metrics"`
	Backup  Backup  `toml:"backup"`
	Dedup   Dedup   `toml:"dedup"`
	Limits  Limits  `toml:"limits"`
}

// Dedup is the continuous duplicate matching of new registrations.
type Dedup struct {
	Every Duration `toml:"every"` // how often new registrations are matched; 0: off
}

// TLS: with a certificate and its key the API is served over HTTPS
// directly; with neither, plain HTTP (behind a proxy that terminates TLS).
type TLS struct {
	Cert string `toml:"cert"`
	Key  string `toml:"key"`
}

// Log is the server's structured log on stderr.
type Log struct {
	Format string `toml:"format"` // text or json
	Level  string `toml:"level"`  // debug, info, warn or error
}

// Metrics is the separate listener of /metrics (Prometheus), /healthz and
// /readyz; "" serves no metrics. It has no authentication: bind it to an
// address only the monitoring can reach.
type Metrics struct {
	Listen string `toml:"listen"`
}

// Backup is the schedule of online backups of the embedded store.
type Backup struct {
	Dir   string   `toml:"dir"`   // "" : DATA.backups beside the data directory
	Every Duration `toml:"every"` // 0: only on demand
	Keep  int      `toml:"keep"`  // the newest Keep are kept
}

// Limits bound what requests may cost (api.Limits).
type Limits struct {
	MaxInFlight   int      `toml:"max_in_flight"`
	MaxBodyMiB    int      `toml:"max_body_mib"`
	LargeBodies   int      `toml:"large_bodies"`
	HeaderTimeout Duration `toml:"header_timeout"`
	MinBodyRate   int64    `toml:"min_body_rate"` // bytes a second
}

// Duration is a time.Duration written as in Go: "90s", "6h", "1h30m".
type Duration time.Duration

// UnmarshalText reads "6h".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("时长格式应如 30s、6h / a duration like 30s or 6h: %q", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes d as "6h0m0s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// DefaultConfig is what serve runs with when neither a file nor a flag says
// otherwise.
func DefaultConfig() Config {
	l := api.DefaultLimits()
	return Config{
		Listen: "127.0.0.1:8080",
		Data:   "dengji-data",
		Log:    Log{Format: "text", Level: "info"},
		Backup: Backup{Keep: 7},
		Dedup:  Dedup{Every: Duration(dedupjob.DefaultWatchEvery)},
		Limits: Limits{MaxInFlight: l.MaxInFlight, MaxBodyMiB: int(api.DefaultConfig().MaxBodyBytes >> 20),
			LargeBodies: l.LargeBodies, HeaderTimeout: Duration(l.HeaderTimeout), MinBodyRate: l.MinBodyRate},
	}
}

// ErrInvalid is the error of a configuration that cannot work; its text
// names the setting, in Chinese then English.
var ErrInvalid = errors.New("配置有误 / invalid configuration")

// Load reads the file at path over the defaults.
func Load(path string) (Config, error) {
	cfg := DefaultConfig()
	return cfg, Read(path, &cfg)
}

// Read reads the file at path over cfg: what the file says replaces what
// cfg held. A key the Config does not have is an error naming it: a
// misspelt setting must not be silently ignored.
func Read(path string, cfg *Config) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	defer f.Close()
	dec := toml.NewDecoder(f).DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		var strict *toml.StrictMissingError
		var derr *toml.DecodeError
		switch {
		case errors.As(err, &strict):
			var keys []string
			for _, e := range strict.Errors {
				keys = append(keys, strings.Join(e.Key(), "."))
			}
			return fmt.Errorf("%w: %s: 未知的设置 / unknown setting %s", ErrInvalid, path, strings.Join(keys, ", "))
		case errors.As(err, &derr):
			row, col := derr.Position()
			return fmt.Errorf("%w: %s:%d:%d: %v", ErrInvalid, path, row, col, derr)
		}
		return fmt.Errorf("%w: %s: %v", ErrInvalid, path, err)
	}
	return nil
}

// Validate names the first setting that cannot work.
func (c Config) Validate() error {
	bad := func(key, zh, en string) error { return fmt.Errorf("%w: %s: %s / %s", ErrInvalid, key, zh, en) }
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return bad("listen", "应为 主机:端口", "must be host:port")
	}
	if c.Metrics.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Metrics.Listen); err != nil {
			return bad("metrics.listen", "应为 主机:端口", "must be host:port")
		}
	}
	switch {
	case c.Data == "":
		return bad("data", "数据目录不能为空", "the data directory must be given")
	case (c.TLS.Cert == "") != (c.TLS.Key == ""):
		return bad("tls", "证书和私钥须同时给出", "cert and key go together")
	case c.Log.Format != "text" && c.Log.Format != "json":
		return bad("log.format", "应为 text 或 json", "must be text or json")
	case !oneOf(c.Log.Level, "debug", "info", "warn", "error"):
		return bad("log.level", "应为 debug、info、warn 或 error", "must be debug, info, warn or error")
	case c.Backup.Every < 0 || (c.Backup.Every > 0 && time.Duration(c.Backup.Every) < time.Minute):
		return bad("backup.every", "应为 0（只按需备份）或至少 1m", "must be 0 (on demand only) or at least 1m")
	case c.Dedup.Every < 0:
		return bad("dedup.every", "不能为负（0 关闭持续查重）", "must not be negative (0 turns continuous matching off)")
	case c.Backup.Keep < 1:
		return bad("backup.keep", "至少保留 1 份", "must keep at least 1")
	}
	if err := c.APIConfig(api.DefaultConfig()).Validate(); err != nil {
		return fmt.Errorf("%w: limits: %v", ErrInvalid, err)
	}
	return nil
}

// APIConfig is base with the limits of c.
func (c Config) APIConfig(base api.Config) api.Config {
	base.MaxBodyBytes = int64(c.Limits.MaxBodyMiB) << 20
	base.Limits.MaxInFlight = c.Limits.MaxInFlight
	base.Limits.LargeBodies = c.Limits.LargeBodies
	base.Limits.HeaderTimeout = time.Duration(c.Limits.HeaderTimeout)
	base.Limits.MinBodyRate = c.Limits.MinBodyRate
	base.DedupEvery = time.Duration(c.Dedup.Every)
	return base
}

func oneOf(s string, options ...string) bool {
	for _, o := range options {
		if s == o {
			return true
		}
	}
	return false
}
