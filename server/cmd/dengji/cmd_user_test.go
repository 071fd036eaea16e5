package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dengji/dengji/server/store"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, &out)
	return out.String(), err
}

func TestUser_AddListDisable(t *testing.T) {
	dir := t.TempDir()
	out, err := runCLI(t, "user", "add", "li", "--role", "registrar", "--districts", "430102001001, 430102001002", "--data", dir)
	if err != nil || !strings.Contains(out, "一次性密码 / one-time password: ") {
		t.Fatalf("add: %q %v", out, err)
	}
	if _, err := runCLI(t, "user", "add", "li", "--role", "admin", "--data", dir); err == nil || !strings.Contains(explain(err), "用户名已存在") {
		t.Fatalf("second add: %v", err)
	}
	if _, err := runCLI(t, "user", "add", "wang", "--role", "registrar", "--data", dir); err == nil {
		t.Fatal("a registrar without districts must be refused")
	}
	if _, err := runCLI(t, "user", "add", "wang", "--role", "registrar", "--districts", "not-a-code", "--data", dir); err == nil ||
		!strings.Contains(explain(err), "not-a-code") {
		t.Fatalf("a scope that is no code must be refused: %v", err)
	}
	if _, err := runCLI(t, "user", "disable", "li", "--data", dir); err != nil {
		t.Fatal(err)
	}
	out, _ = runCLI(t, "user", "list", "--data", dir)
	if !strings.Contains(out, "li") || !strings.Contains(out, "430102001001,430102001002") || !strings.Contains(out, "停用 disabled") {
		t.Fatalf("list: %q", out)
	}
}

func TestDevice_ErrNotFound(t *testing.T) {
	_, err := runCLI(t, "device", "revoke", "phone-9", "--data", t.TempDir())
	if !errors.Is(err, store.ErrNotFound) || !strings.Contains(explain(err), "找不到") {
		t.Fatalf("revoke unknown device: %v", err)
	}
}

func TestRun_ErrUsage(t *testing.T) {
	for _, args := range [][]string{{"nope"}, {"user"}, {"user", "add", "--nope"}, {"bench"}} {
		if _, err := runCLI(t, append(args, "--data", t.TempDir())...); !errors.Is(err, errUsage) {
			t.Errorf("%v: %v", args, err)
		}
	}
}

func TestServe_FirstStartCreatesAdmin(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", dir}, &out) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "serving on") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "one-time password: ") {
		t.Fatalf("first start must print the admin's one-time password: %q", out.String())
	}
	out2, _ := runCLI(t, "user", "list", "--data", dir)
	if !strings.Contains(out2, "admin") {
		t.Fatalf("admin not created: %q", out2)
	}
}

// syncBuffer is a bytes.Buffer safe to read while the server writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
