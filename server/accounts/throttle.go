package accounts

import (
	"net/netip"
	"strings"
	"sync"
	"time"
)

// ThrottleConfig sets how sign-in failures are limited. Three tallies are
// kept, each checked and counted under one lock, and an attempt is reserved
// before its password is checked, so a concurrent burst gets no more tries
// than a patient caller:
//
//   - per account and source address: PairMax failures lock the pair, for
//     LockBase, doubling with each further failure, up to LockMax. This is
//     the lock an attacker meets; the owner, from another address, does not.
//   - per source address, whatever the account: AddrMax failures lock the
//     address the same way (one address trying many accounts).
//   - per account, whatever the address: past AccountFree failures each
//     attempt waits AccountDelay, doubling, up to AccountDelayMax. It only
//     slows a distributed attack down; it never locks the owner out.
//
// Failures are forgotten Window after the last one.
type ThrottleConfig struct {
	PairMax         int
	AddrMax         int
	LockBase        time.Duration
	LockMax         time.Duration
	AccountFree     int
	AccountDelay    time.Duration
	AccountDelayMax time.Duration
	Window          time.Duration
}

// DefaultThrottle is what a county server runs with.
func DefaultThrottle() ThrottleConfig {
	return ThrottleConfig{PairMax: 5, AddrMax: 30, LockBase: time.Minute, LockMax: time.Hour,
		AccountFree: 10, AccountDelay: 100 * time.Millisecond, AccountDelayMax: 2 * time.Second,
		Window: 24 * time.Hour}
}

// throttle is the sign-in limiter. It lives in memory: a restart forgets
// it, which costs an attacker a restart of the server.
type throttle struct {
	cfg ThrottleConfig
	now func() time.Time

	mu       sync.Mutex
	pairs    map[string]*tally // account 0x00 address
	addrs    map[string]*tally
	accounts map[string]*tally
	swept    time.Time
}

// tally is the failures of one key and the attempts under way.
type tally struct {
	fails    int
	inflight int
	until    time.Time // locked until
	last     time.Time // last failure
}

func newThrottle(cfg ThrottleConfig) *throttle {
	return &throttle{cfg: cfg, now: time.Now, pairs: map[string]*tally{}, addrs: map[string]*tally{},
		accounts: map[string]*tally{}}
}

// ticket is a reserved attempt; done must be called once with its outcome.
type ticket struct {
	t                   *throttle
	pair, addr, account string
	delay               time.Duration // to wait before checking the password
	pairT, addrT, accT  *tally
}

// sourceKey is the address a tally is kept for: an IPv4 address, or an
// IPv6 address's /64 (one subscriber's prefix).
func sourceKey(source string) string {
	a, err := netip.ParseAddr(source)
	if err != nil {
		return source
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// reserve lets an attempt through, counting it as under way, or says how
// long to wait.
func (t *throttle) reserve(account, source string) (*ticket, error) {
	account = strings.ToLower(account)
	source = sourceKey(source)
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.sweep(now)
	tk := &ticket{t: t, pair: account + "\x00" + source, addr: source, account: account}
	tk.pairT, tk.addrT, tk.accT = get(t.pairs, tk.pair), get(t.addrs, tk.addr), get(t.accounts, tk.account)
	wait := max(tk.pairT.wait(now, t.cfg.PairMax), tk.addrT.wait(now, t.cfg.AddrMax))
	if wait > 0 {
		return nil, &ThrottledError{RetryAfter: wait}
	}
	tk.pairT.inflight++
	tk.addrT.inflight++
	tk.accT.inflight++
	if over := tk.accT.fails - t.cfg.AccountFree; over >= 0 {
		tk.delay = min(t.cfg.AccountDelay<<min(over, 20), t.cfg.AccountDelayMax)
	}
	return tk, nil
}

func get(m map[string]*tally, k string) *tally {
	v := m[k]
	if v == nil {
		v = &tally{}
		m[k] = v
	}
	return v
}

// wait is how long an attempt must wait (0: go). Below limit failures,
// attempts under way count against the limit; once locked, one attempt at
// a time is let through when the lock has run out.
func (v *tally) wait(now time.Time, limit int) time.Duration {
	switch {
	case now.Before(v.until):
		return v.until.Sub(now)
	case v.fails < limit && v.fails+v.inflight < limit:
		return 0
	case v.fails >= limit && v.inflight == 0:
		return 0
	}
	return time.Second // others are under way: ask again shortly
}

// done records the outcome of a reserved attempt.
func (tk *ticket) done(ok bool) {
	t := tk.t
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for _, v := range []*tally{tk.pairT, tk.addrT, tk.accT} {
		v.inflight--
	}
	if ok {
		delete(t.pairs, tk.pair)
		if tk.accT.inflight == 0 {
			delete(t.accounts, tk.account)
		} else {
			tk.accT.fails = 0
		}
		return
	}
	t.fail(tk.pairT, now, t.cfg.PairMax)
	t.fail(tk.addrT, now, t.cfg.AddrMax)
	tk.accT.fails++
	tk.accT.last = now
}

func (t *throttle) fail(v *tally, now time.Time, limit int) {
	v.fails++
	v.last = now
	if over := v.fails - limit; over >= 0 {
		v.until = now.Add(min(t.cfg.LockBase<<min(over, 20), t.cfg.LockMax))
	}
}

// unlock forgets an account's failures, from every address.
func (t *throttle) unlock(account string) {
	account = strings.ToLower(account)
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.accounts, account)
	for k := range t.pairs {
		if strings.HasPrefix(k, account+"\x00") {
			delete(t.pairs, k)
		}
	}
}

// sweep drops, at most once a minute, the tallies with nothing under way
// whose lock ran out and whose last failure is older than the window.
func (t *throttle) sweep(now time.Time) {
	if now.Sub(t.swept) < time.Minute {
		return
	}
	t.swept = now
	for _, m := range []map[string]*tally{t.pairs, t.addrs, t.accounts} {
		for k, v := range m {
			if v.inflight == 0 && !now.Before(v.until) && now.Sub(v.last) > t.cfg.Window {
				delete(m, k)
			}
		}
	}
}
