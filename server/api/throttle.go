package api

import (
	"strings"
	"sync"
	"time"
)

// loginThrottle refuses sign-ins to an account after too many failures in a
// row, for a while: a password cannot be guessed at the speed of the network.
// It lives in memory; a restart forgets it, which costs an attacker a restart.
type loginThrottle struct {
	mu       sync.Mutex
	failures map[string]*failures
	max      int           // failures before the lock
	window   time.Duration // how long failures are remembered, and the lock lasts
	now      func() time.Time
}

type failures struct {
	n      int
	first  time.Time
	locked time.Time // zero unless locked
}

func newLoginThrottle() *loginThrottle {
	return &loginThrottle{failures: map[string]*failures{}, max: 5, window: 15 * time.Minute, now: time.Now}
}

// retryAfter is how long the account must wait; 0 lets the attempt through.
func (l *loginThrottle) retryAfter(user string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.failures[strings.ToLower(user)]
	if f == nil || f.locked.IsZero() {
		return 0
	}
	if wait := f.locked.Add(l.window).Sub(l.now()); wait > 0 {
		return wait
	}
	delete(l.failures, strings.ToLower(user))
	return 0
}

// failed counts a failed attempt.
func (l *loginThrottle) failed(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	key := strings.ToLower(user)
	f := l.failures[key]
	if f == nil || now.Sub(f.first) > l.window {
		l.sweep(now)
		f = &failures{first: now}
		l.failures[key] = f
	}
	if f.n++; f.n >= l.max && f.locked.IsZero() {
		f.locked = now
	}
}

// succeeded forgets an account's failures.
func (l *loginThrottle) succeeded(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, strings.ToLower(user))
}

// sweep drops what the window has expired, so the map stays bounded by the
// accounts tried in the last window.
func (l *loginThrottle) sweep(now time.Time) {
	for k, f := range l.failures {
		if now.Sub(f.first) > l.window && (f.locked.IsZero() || now.Sub(f.locked) > l.window) {
			delete(l.failures, k)
		}
	}
}
