package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their paths and a pool trusting it.
func selfSigned(t *testing.T) (cert, key string, pool *x509.CertPool) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "dengji test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(priv)
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return cert, key, pool
}

// startServe runs dengji serve with args until the test ends, and returns
// what it printed once it serves.
func startServe(t *testing.T, args ...string) *syncBuffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := new(syncBuffer)
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"serve"}, args...), out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "serving on") {
		if time.Now().After(deadline) {
			t.Fatalf("not serving: %s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return out
}

// A config file with a certificate serves HTTPS directly, JSON logs and a
// metrics listener of its own; the flags given override the file.
func TestServe_ConfigTLSMetrics(t *testing.T) {
	cert, key, pool := selfSigned(t)
	dir := t.TempDir()
	cfgFile := filepath.Join(t.TempDir(), "dengji.toml")
	os.WriteFile(cfgFile, []byte(`listen = "127.0.0.1:1"
data = "`+filepath.Join(dir, "from-file")+`"
[tls]
cert = "`+cert+`"
key = "`+key+`"
[log]
format = "json"
[metrics]
listen = "127.0.0.1:0"
`), 0o600)
	var logs syncBuffer
	logOutput = &logs
	t.Cleanup(func() { logOutput = os.Stderr })
	data := filepath.Join(dir, "from-flag")
	out := startServe(t, "--config", cfgFile, "--addr", "127.0.0.1:0", "--data", data)
	api := regexp.MustCompile(`serving on (https://[0-9.:]+)`).FindStringSubmatch(out.String())
	mon := regexp.MustCompile(`metrics on (http://\S+)/metrics`).FindStringSubmatch(out.String())
	if api == nil || mon == nil {
		t.Fatalf("serve printed %s", out.String())
	}
	if _, err := os.Stat(filepath.Join(data, "dengji.db")); err != nil {
		t.Fatalf("--data did not override the file: %v", err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	get := func(c *http.Client, url string) (int, string) {
		t.Helper()
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(client, api[1]+"/readyz"); code != 200 || !strings.Contains(body, "ready") {
		t.Fatalf("readyz over TLS: %d %s", code, body)
	}
	if code, _ := get(client, api[1]+"/v1/me"); code != 401 {
		t.Fatalf("/v1/me without a token: %d", code)
	}
	if resp, err := http.Get(strings.Replace(api[1], "https", "http", 1) + "/healthz"); err == nil && resp.StatusCode == 200 {
		t.Fatal("plain HTTP served on the TLS listener")
	}
	code, body := get(http.DefaultClient, mon[1]+"/metrics")
	if code != 200 || !strings.Contains(body, `dengji_http_requests_total{method="GET",route="/v1/me",status="401"} 1`) {
		t.Fatalf("metrics: %d\n%s", code, body)
	}
	if code, _ := get(http.DefaultClient, mon[1]+"/healthz"); code != 200 {
		t.Fatalf("healthz on the metrics listener: %d", code)
	}
	if !strings.Contains(logs.String(), `"msg":"http"`) || !strings.Contains(logs.String(), `"request_id":"`) {
		t.Fatalf("logs not JSON with request IDs: %s", logs.String())
	}
}

func TestServe_ErrInvalidConfig(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "dengji.toml")
	os.WriteFile(cfgFile, []byte("[log]\nformat = \"xml\"\n"), 0o600)
	data := filepath.Join(t.TempDir(), "data")
	_, err := runCLI(t, "serve", "--config", cfgFile, "--data", data)
	if err == nil || !strings.Contains(err.Error(), "log.format") {
		t.Fatalf("bad config: %v", err)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Fatal("a bad config created the data directory")
	}
}
