package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readmeSample is the TOML block of the README's configuration section.
func readmeSample(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```toml\n")
	if !ok {
		t.Fatal("README.md has no ```toml block")
	}
	sample, _, _ := strings.Cut(rest, "```")
	return sample
}

func write(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "dengji.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad_READMESample(t *testing.T) {
	sample := readmeSample(t)
	cfg, err := Load(write(t, sample))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "0.0.0.0:8443" || cfg.TLS.Cert == "" || cfg.Log.Format != "json" || cfg.Metrics.Listen == "" ||
		time.Duration(cfg.Backup.Every) != 6*time.Hour || cfg.Backup.Keep != 28 || cfg.Limits.MaxInFlight != 128 ||
		time.Duration(cfg.Limits.HeaderTimeout) != 10*time.Second {
		t.Fatalf("sample read as %+v", cfg)
	}
	// sample.toml is the same text, for operators to copy.
	file, err := os.ReadFile("sample.toml")
	if err != nil || string(file) != sample {
		t.Fatalf("sample.toml and the README's sample differ (%v)", err)
	}
}

func TestDefaultConfig_Validate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestLoad_ErrInvalid(t *testing.T) {
	for _, tc := range []struct{ text, names string }{
		{`listne = "127.0.0.1:1"`, "listne"},
		{"[tls]\ncert = \"a.crt\"\nkye = \"a.key\"", "tls.kye"},
		{`listen = 8080`, "dengji.toml:1"},
		{"[backup]\nevery = \"often\"", "often"},
	} {
		_, err := Load(write(t, tc.text))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.names) {
			t.Errorf("%q: %v, want an error naming %s", tc.text, err, tc.names)
		}
	}
}

func TestValidate_ErrInvalid(t *testing.T) {
	for key, mutate := range map[string]func(*Config){
		"listen":         func(c *Config) { c.Listen = "8080" },
		"metrics.listen": func(c *Config) { c.Metrics.Listen = "localhost" },
		"data":           func(c *Config) { c.Data = "" },
		"tls":            func(c *Config) { c.TLS.Cert = "a.crt" },
		"log.format":     func(c *Config) { c.Log.Format = "xml" },
		"log.level":      func(c *Config) { c.Log.Level = "loud" },
		"backup.every":   func(c *Config) { c.Backup.Every = Duration(time.Second) },
		"backup.keep":    func(c *Config) { c.Backup.Keep = 0 },
		"limits":         func(c *Config) { c.Limits.MaxInFlight = 0 },
	} {
		c := DefaultConfig()
		mutate(&c)
		if err := c.Validate(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: %v", key, err)
		}
	}
}
