package api

import (
	"testing"
	"time"
)

func TestLoginThrottle_LockExpires(t *testing.T) {
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	l := newLoginThrottle()
	l.now = func() time.Time { return now }
	for i := 0; i < l.max-1; i++ {
		l.failed("li")
	}
	if l.retryAfter("li") != 0 {
		t.Fatal("locked before the fifth failure")
	}
	l.failed("li")
	if wait := l.retryAfter("li"); wait != l.window {
		t.Fatalf("wait %v, want %v", wait, l.window)
	}
	now = now.Add(l.window + time.Second)
	if l.retryAfter("li") != 0 {
		t.Fatal("still locked after the window")
	}
	l.failed("li")
	if l.retryAfter("li") != 0 {
		t.Fatal("one failure after the lock expired must not lock again")
	}
	l.succeeded("li")
	if len(l.failures) != 0 {
		t.Fatal("a success must forget the failures")
	}
}
