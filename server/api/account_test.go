package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dengji/dengji/server/accounts"
	"github.com/dengji/dengji/server/api"
	"github.com/dengji/dengji/server/auth"
	"github.com/dengji/dengji/server/store"
	"github.com/dengji/dengji/server/store/boltstore/bolttest"
	dsync "github.com/dengji/dengji/sync"
)

// trustLoopback makes the test server read the client's address from
// X-Forwarded-For, as behind a reverse proxy on the same host.
func trustLoopback(c *api.Config) { c.TrustedProxies = []string{"127.0.0.1"} }

// signIn posts a sign-in from source (sent as X-Forwarded-For if not "")
// and returns the status, the error code if any and the tokens if any.
func (s *testServer) signIn(t *testing.T, source, user, pw, device string) (int, string, tokens) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"username": user, "password": pw, "device_id": device})
	req, _ := http.NewRequest("POST", s.URL()+"/v1/auth/login", strings.NewReader(string(b)))
	if source != "" {
		req.Header.Set("X-Forwarded-For", source)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, "", tokens{}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var tk tokens
	var eb dsync.ErrorBody
	json.Unmarshal(body, &tk)
	json.Unmarshal(body, &eb)
	if resp.StatusCode == 429 && resp.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	return resp.StatusCode, eb.Error.Code, tk
}

// Defect 3: 400 simultaneous sign-ins, the last one with the right
// password. The attempts are reserved before bcrypt, so the burst gets the
// five tries a patient caller gets, and the right password, sent while the
// burst is under way, never signs in.
func TestAccounts_ConcurrentSignInsNeverSucceed(t *testing.T) {
	s := startServer(t)
	start := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := 0; i < 399; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			status, _, _ := s.signIn(t, "", "li", "wrong-password", "")
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		}()
	}
	close(start)
	for deadline := time.Now().Add(10 * time.Second); s.Accounts().PasswordChecks() < 5 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	status, code, _ := s.signIn(t, "", "li", "li-password", "")
	for i := 0; status == 503 && i < 100; i++ { // the server's cap on requests in flight
		time.Sleep(10 * time.Millisecond)
		status, code, _ = s.signIn(t, "", "li", "li-password", "")
	}
	wg.Wait()
	if status != 429 || code != "too_many_attempts" {
		t.Fatalf("the right password in the burst: %d %s", status, code)
	}
	if statuses[200] != 0 || statuses[401] > 5 || statuses[401]+statuses[429]+statuses[503] != 399 {
		t.Fatalf("statuses %v", statuses)
	}
	if n := s.Accounts().PasswordChecks(); n > 5 {
		t.Fatalf("%d bcrypt checks for one account and address, want at most 5", n)
	}
}

// An attacker's failures, from several addresses, lock the attacker's
// addresses, not the owner: from their own address the owner signs in,
// at most slowed down.
func TestAccounts_OwnerSignsInFromAnotherAddress(t *testing.T) {
	s := startServerOn(t, bolttest.Open(t), trustLoopback)
	for _, attacker := range []string{"203.0.113.7", "203.0.113.8", "2001:db8::1"} {
		for i := 0; i < 8; i++ {
			s.signIn(t, attacker, "li", "guess-password", "")
		}
		if status, code, _ := s.signIn(t, attacker, "li", "li-password", ""); status != 429 || code != "too_many_attempts" {
			t.Fatalf("the attacker's address after its failures: %d %s", status, code)
		}
		s.signIn(t, attacker, "admin", "guess-password", "")
	}
	// Another address in the attacker's IPv6 /64 is the same subscriber.
	if status, _, _ := s.signIn(t, "2001:db8::2", "li", "li-password", ""); status != 429 {
		t.Fatalf("the attacker's /64: %d", status)
	}
	// What a sign-in costs here without any failure on the account (bcrypt
	// dominates, and the race detector or a busy machine slows it), so that
	// the owner's wait is measured against it, not against a fixed time.
	began := time.Now()
	if status, code, _ := s.signIn(t, "198.51.100.9", "admin", "admin-pass", ""); status != 200 {
		t.Fatalf("a sign-in with no failures: %d %s", status, code)
	}
	plain := time.Since(began)
	began = time.Now()
	if status, code, tk := s.signIn(t, "198.51.100.2", "li", "li-password", "phone-1"); status != 200 || tk.AccessToken == "" {
		t.Fatalf("the owner from their own address: %d %s", status, code)
	}
	// Failures on the account slow it by at most 2 s (accounts.ThrottleConfig).
	if took := time.Since(began); took > plain+2500*time.Millisecond {
		t.Fatalf("the owner waited %v, a plain sign-in %v", took, plain)
	}
	if status, _, _ := s.signIn(t, "198.51.100.3", "admin", "admin-pass", ""); status != 200 {
		t.Fatalf("the admin, whose name the attacker tried too: %d", status)
	}
}

// Without trusted proxies, X-Forwarded-For is not believed: an attacker
// cannot pick a fresh address per try.
func TestAccounts_ForwardedForIgnoredByDefault(t *testing.T) {
	s := startServer(t)
	for i := 0; i < 5; i++ {
		s.signIn(t, "203.0.113.7", "li", "guess-password", "")
	}
	if status, _, _ := s.signIn(t, "198.51.100.9", "li", "li-password", ""); status != 429 {
		t.Fatalf("a forged X-Forwarded-For was believed: %d", status)
	}
}

func TestAccounts_AdminUnlocks(t *testing.T) {
	s := startServer(t)
	admin := s.login(t, "admin", "admin-pass", "")
	for i := 0; i < 5; i++ {
		s.signIn(t, "", "li", "guess-password", "")
	}
	if status, _, _ := s.signIn(t, "", "li", "li-password", ""); status != 429 {
		t.Fatalf("locked: %d", status)
	}
	if code := s.call(t, "POST", "/v1/users/li/unlock", admin.AccessToken, nil, nil); code != 204 {
		t.Fatalf("unlock: %d", code)
	}
	if code := s.call(t, "POST", "/v1/users/ghost/unlock", admin.AccessToken, nil, nil); code != 404 {
		t.Fatalf("unlock an unknown user: %d", code)
	}
	s.login(t, "li", "li-password", "")
}

// Defect 6: a password bcrypt cannot hold (over 72 bytes) is a clear 400
// naming the field, never a 500.
func TestAccounts_LongPasswordRefused(t *testing.T) {
	s := startServer(t)
	admin := s.login(t, "admin", "admin-pass", "")
	long := strings.Repeat("密", 30) // 30 characters, 90 bytes
	var eb dsync.ErrorBody
	for _, tc := range []struct {
		path, token string
		body        any
		field       string
	}{
		{"/v1/users", admin.AccessToken, map[string]any{"name": "zhao", "role": "admin", "password": strings.Repeat("x", 100)}, "password"},
		{"/v1/users", admin.AccessToken, map[string]any{"name": "zhao", "role": "admin", "password": long}, "password"},
		{"/v1/users", admin.AccessToken, map[string]any{"name": "zhao", "role": "admin", "password": "short"}, "password"},
		{"/v1/users", admin.AccessToken, map[string]any{"name": "zhao-zhao-1", "role": "admin", "password": "ZHAO-ZHAO-1"}, "password"},
		{"/v1/auth/login", "", map[string]any{"username": "li", "password": strings.Repeat("x", 100)}, "password"},
		{"/v1/me/password", admin.AccessToken, map[string]any{"old": "admin-pass", "new": long}, "new"},
	} {
		eb = dsync.ErrorBody{}
		if status := s.call(t, "POST", tc.path, tc.token, tc.body, &eb); status != 400 || eb.Error.Code != "bad_password" ||
			!strings.Contains(eb.Error.Message, "字段 "+tc.field) || !strings.Contains(eb.Error.Message, "field "+tc.field) {
			t.Errorf("%s %v: %d %+v", tc.path, tc.body, status, eb.Error)
		}
	}
	// 24 Chinese characters (72 bytes) are a good password.
	if status := s.call(t, "POST", "/v1/users", admin.AccessToken, map[string]any{"name": "zhao", "role": "admin",
		"password": strings.Repeat("密", 24)}, nil); status != 201 {
		t.Fatalf("a 72-byte password: %d", status)
	}
	s.login(t, "zhao", strings.Repeat("密", 24), "")
}

// Defect 10: a scope entry must be a known division or district code; any
// string, a NUL included, was accepted.
func TestAccounts_ScopeEntriesChecked(t *testing.T) {
	s := startServer(t)
	admin := s.login(t, "admin", "admin-pass", "")
	for _, scope := range []string{"not-a-code", "430102\x00", "999999001001", "4"} {
		body := map[string]any{"name": "zhao", "role": "coordinator", "districts": []string{scope}, "password": "zhao-password-1"}
		if status, code := errCode(t, s, "POST", "/v1/users", admin.AccessToken, body); status != 400 || code != "bad_user" {
			t.Errorf("scope %q: %d %s", scope, status, code)
		}
	}
	body := map[string]any{"name": "zhao", "role": "coordinator", "districts": []string{"430102", "4301029001"}, "password": "zhao-password-1"}
	if status := s.call(t, "POST", "/v1/users", admin.AccessToken, body, nil); status != 201 {
		t.Fatalf("a county and a work-unit district: %d", status)
	}
}

func TestAccounts_ChangePassword(t *testing.T) {
	s := startServer(t)
	li := s.login(t, "li", "li-password", "phone-1")
	other := s.login(t, "li", "li-password", "phone-2")
	if status, code := errCode(t, s, "POST", "/v1/me/password", li.AccessToken, map[string]string{"old": "wrong-password", "new": "new-li-password"}); status != 401 || code != "invalid_credentials" {
		t.Fatalf("a wrong old password: %d %s", status, code)
	}
	if status, code := errCode(t, s, "POST", "/v1/me/password", li.AccessToken, map[string]string{"old": "li-password", "new": "li-password"}); status != 400 || code != "bad_password" {
		t.Fatalf("the same password again: %d %s", status, code)
	}
	var next tokens
	if code := s.call(t, "POST", "/v1/me/password", li.AccessToken, map[string]string{"old": "li-password", "new": "new-li-password"}, &next); code != 200 || next.RefreshToken == "" {
		t.Fatalf("change: %d", code)
	}
	var me struct{ Device *store.Device }
	if code := s.call(t, "GET", "/v1/me", next.AccessToken, nil, &me); code != 200 || me.Device == nil || me.Device.ID != "phone-1" {
		t.Fatalf("the new pair is for the caller's device: %d %+v", code, me.Device)
	}
	for _, rt := range []string{li.RefreshToken, other.RefreshToken} {
		if status, _ := errCode(t, s, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": rt}); status != 401 {
			t.Fatalf("a session from before the change: %d", status)
		}
	}
	if status, _ := errCode(t, s, "POST", "/v1/auth/login", "", map[string]string{"username": "li", "password": "li-password"}); status != 401 {
		t.Fatalf("the old password: %d", status)
	}
	s.login(t, "li", "new-li-password", "phone-1")
}

// An admin's reset gives a one-time password: signing in with it answers
// 403 password_change_required with a token that only changes it.
func TestAccounts_AdminResetForcesChange(t *testing.T) {
	s := startServer(t)
	admin := s.login(t, "admin", "admin-pass", "")
	li := s.login(t, "li", "li-password", "phone-1")
	var reset struct{ Password string }
	if code := s.call(t, "POST", "/v1/users/li/password", admin.AccessToken, nil, &reset); code != 200 || len(reset.Password) < 10 {
		t.Fatalf("reset: %d %+v", code, reset)
	}
	if status, _ := errCode(t, s, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": li.RefreshToken}); status != 401 {
		t.Fatalf("a session from before the reset: %d", status)
	}
	changeFirst(t, s, "li", reset.Password, "phone-1", "li-new-password")
	s.login(t, "li", "li-new-password", "phone-1")
}

// changeFirst signs in with a one-time password, checks the answer is 403
// password_change_required with a token good for nothing but the change,
// and changes the password with it.
func changeFirst(t *testing.T, s *testServer, user, otp, device, newPW string) tokens {
	t.Helper()
	var eb struct {
		Error struct {
			Code    string
			Details struct {
				PasswordToken string `json:"password_token"`
			}
		}
	}
	if status := s.call(t, "POST", "/v1/auth/login", "", map[string]string{"username": user, "password": otp, "device_id": device}, &eb); status != 403 ||
		eb.Error.Code != "password_change_required" || eb.Error.Details.PasswordToken == "" {
		t.Fatalf("sign-in with a one-time password: %d %+v", status, eb)
	}
	pwt := eb.Error.Details.PasswordToken
	if status, code := errCode(t, s, "GET", "/v1/me", pwt, nil); status != 401 || code != "unauthorized" {
		t.Fatalf("the password-change token used for anything else: %d %s", status, code)
	}
	var tk tokens
	if status := s.call(t, "POST", "/v1/me/password", pwt, map[string]string{"old": otp, "new": newPW}, &tk); status != 200 || tk.AccessToken == "" {
		t.Fatalf("change with the token: %d", status)
	}
	if status := s.call(t, "GET", "/v1/me", tk.AccessToken, nil, nil); status != 200 {
		t.Fatalf("after the change: %d", status)
	}
	return tk
}

// The first start's admin password is one-time too.
func TestAccounts_FirstStartAdminMustChange(t *testing.T) {
	s := startBareServer(t, bolttest.Open(t), nil)
	pw, err := accounts.EnsureAdmin(context.Background(), s.st)
	if err != nil || pw == "" {
		t.Fatal(pw, err)
	}
	changeFirst(t, s, "admin", pw, "", "a-better-admin-password")
	if status, _ := errCode(t, s, "POST", "/v1/auth/login", "", map[string]string{"username": "admin", "password": pw}); status != 401 {
		t.Fatalf("the printed password after the change: %d", status)
	}
}

func refresh(t *testing.T, s *testServer, rt string) (int, tokens) {
	t.Helper()
	var tk tokens
	status := s.call(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": rt}, &tk)
	return status, tk
}

// Defect 7: a rotated-out token presented after the grace revokes the
// whole session, the thief's successor tokens included.
func TestAccounts_RefreshReuseRevokesFamily(t *testing.T) {
	s := startServer(t)
	t0 := s.login(t, "li", "li-password", "phone-1")
	_, t1 := refresh(t, s, t0.RefreshToken)
	status, t2 := refresh(t, s, t1.RefreshToken)
	if status != 200 {
		t.Fatalf("second rotation: %d", status)
	}
	if status, _ := refresh(t, s, t0.RefreshToken); status != 401 {
		t.Fatalf("reuse of a token two rotations old: %d", status)
	}
	if status, _ := refresh(t, s, t2.RefreshToken); status != 401 {
		t.Fatalf("the session's newest token after a reuse: %d", status)
	}
	other := s.login(t, "li", "li-password", "phone-2")
	if status, _ := refresh(t, s, other.RefreshToken); status != 200 {
		t.Fatalf("another session of the user: %d", status)
	}
}

// An answer lost in transit: the previous token presented again within the
// grace gets the same pair, once.
func TestAccounts_RefreshGraceReplaysSamePair(t *testing.T) {
	s := startServer(t)
	t0 := s.login(t, "li", "li-password", "phone-1")
	_, a := refresh(t, s, t0.RefreshToken)
	status, b := refresh(t, s, t0.RefreshToken)
	if status != 200 || a != b {
		t.Fatalf("replay: %d, %+v vs %+v", status, a, b)
	}
	if status, _ := refresh(t, s, t0.RefreshToken); status != 401 {
		t.Fatalf("a second replay: %d", status)
	}
	if status, _ := refresh(t, s, a.RefreshToken); status != 401 {
		t.Fatalf("the session after a second replay: %d", status)
	}
}

// With no grace, the first reuse is a reuse.
func TestAccounts_RefreshRotatesWithoutGrace(t *testing.T) {
	s := startServerOn(t, bolttest.Open(t), func(c *api.Config) { c.RefreshGrace = 0 })
	t0 := s.login(t, "li", "li-password", "phone-1")
	status, t1 := refresh(t, s, t0.RefreshToken)
	if status != 200 {
		t.Fatalf("refresh: %d", status)
	}
	if status, _ := refresh(t, s, t0.RefreshToken); status != 401 {
		t.Fatalf("a used token: %d", status)
	}
	if status, _ := refresh(t, s, t1.RefreshToken); status != 401 {
		t.Fatalf("the session after a reuse: %d", status)
	}
}

func TestAccounts_LogoutEndsSession(t *testing.T) {
	s := startServer(t)
	li := s.login(t, "li", "li-password", "phone-1")
	if code := s.call(t, "POST", "/v1/auth/logout", "", map[string]string{"refresh_token": li.RefreshToken}, nil); code != 204 {
		t.Fatalf("logout: %d", code)
	}
	if status, _ := refresh(t, s, li.RefreshToken); status != 401 {
		t.Fatalf("refresh after logout: %d", status)
	}
}

// Defect 7: disabling a user deletes their refresh tokens; enabling them
// again does not bring the tokens back.
func TestAccounts_DisableRevokesRefreshTokens(t *testing.T) {
	s := startServer(t)
	li := s.login(t, "li", "li-password", "phone-1")
	admin := s.login(t, "admin", "admin-pass", "")
	s.call(t, "POST", "/v1/users/li/disable", admin.AccessToken, nil, nil)
	s.call(t, "POST", "/v1/users/li/enable", admin.AccessToken, nil, nil)
	if status, _ := refresh(t, s, li.RefreshToken); status != 401 {
		t.Fatalf("a refresh token from before the disable: %d", status)
	}
	s.login(t, "li", "li-password", "phone-1")
}

// Defect 8: tokens of a removed key, tokens living longer than the server
// issues, and tokens with no expiry are refused; a key still in the set
// verifies.
func TestAccounts_TokenKeysAndLifetimes(t *testing.T) {
	old, removed := auth.NewSigningKey(), auth.NewSigningKey()
	current := auth.NewSigningKey()
	s := startServerOn(t, bolttest.Open(t), func(c *api.Config) { c.Keys = auth.KeySetOf(old, current) })
	now := time.Now()
	forge := func(k auth.Key, claims jwt.MapClaims) string {
		tk := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
		tk.Header["kid"] = k.ID
		str, err := tk.SignedString(k.Secret)
		if err != nil {
			t.Fatal(err)
		}
		return str
	}
	claims := func(exp time.Time) jwt.MapClaims {
		return jwt.MapClaims{"sub": "admin", "role": "admin", "iss": "dengji", "iat": now.Unix(), "exp": exp.Unix()}
	}
	for _, tc := range []struct {
		name  string
		token string
		want  int
	}{
		{"OlderKey", forge(old, claims(now.Add(10*time.Minute))), 200},
		{"CurrentKey", forge(current, claims(now.Add(10*time.Minute))), 200},
		{"RemovedKey", forge(removed, claims(now.Add(10*time.Minute))), 401},
		{"TenYears", forge(current, claims(now.AddDate(10, 0, 0))), 401},
		{"NoExpiry", forge(current, jwt.MapClaims{"sub": "admin", "role": "admin", "iss": "dengji", "iat": now.Unix()}), 401},
	} {
		if status := s.call(t, "GET", "/v1/users", tc.token, nil, nil); status != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, status, tc.want)
		}
	}
	tk := s.login(t, "admin", "admin-pass", "")
	parsed, _, _ := jwt.NewParser().ParseUnverified(tk.AccessToken, jwt.MapClaims{})
	if parsed.Header["kid"] != current.ID {
		t.Fatalf("kid %v, want the newest key %s", parsed.Header["kid"], current.ID)
	}
}

// Defect 4: the server's own device ID, and malformed ones, are refused at
// enrolment.
func TestAccounts_DeviceIDFormat(t *testing.T) {
	s := startServer(t)
	for _, id := range []string{"server", "SERVER", "server-2", "serverless", "a b c d", "ab", "-phone", "手机手机手机", strings.Repeat("x", 65)} {
		if status, code := errCode(t, s, "POST", "/v1/auth/login", "", map[string]string{
			"username": "li", "password": "li-password", "device_id": id}); status != 400 || code != "bad_device_id" {
			t.Errorf("device %q: %d %s", id, status, code)
		}
	}
	s.login(t, "li", "li-password", "0190f1f2-7a3b-7c4d-8e5f-123456789abc")
	s.login(t, "li", "li-password", "my.phone_2")
}
