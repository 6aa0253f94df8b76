package plugin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/websocket"
	"github.com/velocitykode/velocity/internal/wstest"
	"github.com/velocitykode/velocity/middleware"
	"github.com/velocitykode/velocity/plugin"
)

const (
	jwtWarning    = "private and presence channels need"
	secretWarning = "BROADCAST_APP_SECRET is not set"
	noKeyMessage  = "a token was sent but no JWT key is configured (set JWT_SECRET or JWT_PUBLIC_KEY)"
)

// loggedStack is the plugin built from vars (plus opts) on a real Echo
// server, logging into a buffer; RequireUser guards /me and OptionalUser
// /maybe.
type loggedStack struct {
	p   *plugin.Plugin
	srv *httptest.Server
	log *logBuffer
}

func newLoggedStack(t *testing.T, vars map[string]string, opts ...plugin.Option) *loggedStack {
	t.Helper()
	cfg, err := plugin.FromLookup(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	logger, lb := newLogBuffer()
	b := broadcast.New(nil)
	b.SetAuthorizer(func(string, any) bool { return true })
	p, err := plugin.New(cfg, append([]plugin.Option{plugin.WithBroadcaster(b), plugin.WithLogger(logger)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	p.Register(e)
	me := func(c echo.Context) error {
		if u, ok := middleware.UserFrom(c); ok {
			return c.String(http.StatusOK, broadcast.UserID(u))
		}
		return c.String(http.StatusOK, "anonymous")
	}
	e.GET("/me", me, p.RequireUser())
	e.GET("/maybe", me, p.OptionalUser())
	srv := httptest.NewServer(e)
	t.Cleanup(func() { shutdown(t, p); srv.Close() })
	return &loggedStack{p: p, srv: srv, log: lb}
}

// post sends a form to path with an optional Bearer token and decodes
// the JSON answer.
func (s *loggedStack) post(t *testing.T, path, token string, form url.Values) (int, map[string]string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return s.do(t, req)
}

func (s *loggedStack) get(t *testing.T, path, token string) (int, map[string]string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return s.do(t, req)
}

func (s *loggedStack) do(t *testing.T, req *http.Request) (int, map[string]string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]string{}
	if json.Unmarshal(raw, &out) != nil {
		out["text"] = string(raw)
	}
	return resp.StatusCode, out
}

func (s *loggedStack) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/ws" + query
}

// A token sent while neither JWT_SECRET nor JWT_PUBLIC_KEY is set is
// answered jwt_not_configured wherever the user is resolved, not taken
// for a missing token; requests without a token stay anonymous.
func TestTokenWithoutJWTKey(t *testing.T) {
	t.Parallel()
	s := newLoggedStack(t, map[string]string{"BROADCAST_APP_SECRET": "app-secret"})
	tok, err := middleware.SignHS256([]byte("a-key-this-server-does-not-know"), "1", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	anon := wstest.Dial(t, s.wsURL(""), nil)
	auth := url.Values{"socket_id": {anon.SocketID}, "channel_name": {"private-orders"}}

	for _, tc := range []struct {
		name string
		send func() (int, map[string]string)
	}{
		{"channel auth", func() (int, map[string]string) { return s.post(t, "/broadcasting/auth", tok, auth) }},
		{"user auth", func() (int, map[string]string) {
			return s.post(t, "/broadcasting/user-auth", tok, url.Values{"socket_id": {anon.SocketID}})
		}},
		{"RequireUser", func() (int, map[string]string) { return s.get(t, "/me", tok) }},
		{"OptionalUser", func() (int, map[string]string) { return s.get(t, "/maybe", tok) }},
	} {
		status, body := tc.send()
		if status != http.StatusUnauthorized || body["error"] != "jwt_not_configured" || body["message"] != noKeyMessage {
			t.Errorf("%s with a token: %d %v, want 401 jwt_not_configured", tc.name, status, body)
		}
	}

	// The WebSocket handshake refuses the token with the same message.
	c := wstest.DialRaw(t, s.wsURL("?token="+url.QueryEscape(tok)), nil)
	if f := c.Read(); f.Type != "error" || f.Code() != websocket.CodeUnauthorized || !strings.Contains(string(f.Data), noKeyMessage) {
		t.Fatalf("handshake with a token: %s", f.Raw)
	}
	if code := c.ExpectClose(); code != websocket.CodeUnauthorized {
		t.Fatalf("close %d, want 4009", code)
	}

	// Without a token nothing changes.
	if status, body := s.post(t, "/broadcasting/auth", "", auth); status != http.StatusUnauthorized || body["error"] != "token_missing" {
		t.Errorf("channel auth without a token: %d %v", status, body)
	}
	if status, body := s.get(t, "/me", ""); status != http.StatusUnauthorized || body["error"] != "token_missing" {
		t.Errorf("RequireUser without a token: %d %v", status, body)
	}
	if status, body := s.get(t, "/maybe", ""); status != http.StatusOK || body["text"] != "anonymous" {
		t.Errorf("OptionalUser without a token: %d %v", status, body)
	}
	if f := anon.Subscribe("orders", "", ""); f.Type != "subscription_succeeded" {
		t.Errorf("anonymous connection on a public channel: %s", f.Raw)
	}
}

// New warns once that private and presence channels need a JWT key when
// nothing identifies users, and not when something does.
func TestWarningWithoutJWTKey(t *testing.T) {
	t.Parallel()
	s := newLoggedStack(t, map[string]string{"BROADCAST_APP_SECRET": "app-secret"})
	if n := s.log.count(jwtWarning); n != 1 {
		t.Fatalf("%d start-up warnings about the JWT key, want 1; log:\n%s", n, s.log)
	}
	if n := s.log.count(jwtWarning + " JWT_SECRET or JWT_PUBLIC_KEY"); n != 1 {
		t.Fatalf("the warning does not name the variables; log:\n%s", s.log)
	}
	s.get(t, "/me", "x.y.z")
	s.post(t, "/broadcasting/auth", "x.y.z", url.Values{"socket_id": {"1.1"}, "channel_name": {"private-a"}})
	if n := s.log.count(jwtWarning); n != 1 {
		t.Fatalf("%d warnings after requests, want still 1", n)
	}

	for name, tc := range map[string]struct {
		vars map[string]string
		opts []plugin.Option
	}{
		"JWT_SECRET": {vars: map[string]string{"JWT_SECRET": testSecret}},
		"WithJWT":    {opts: []plugin.Option{plugin.WithJWT(middleware.Config{SigningKey: []byte(testSecret)})}},
		"WithUserResolver": {opts: []plugin.Option{plugin.WithUserResolver(func(*http.Request) (any, error) {
			return nil, nil
		})}},
	} {
		tc.vars = withSecret(tc.vars)
		s := newLoggedStack(t, tc.vars, tc.opts...)
		if n := s.log.count(jwtWarning); n != 0 {
			t.Errorf("%s: %d warnings about the JWT key, want none", name, n)
		}
	}
}

func withSecret(vars map[string]string) map[string]string {
	out := map[string]string{"BROADCAST_APP_SECRET": "app-secret"}
	for k, v := range vars {
		out[k] = v
	}
	return out
}

// Without BROADCAST_APP_SECRET on one process, the warning waits for the
// generated secret's first signature, and comes once.
func TestGeneratedSecretWarnsAtFirstSignature(t *testing.T) {
	t.Parallel()
	for _, first := range []string{"/broadcasting/auth", "/broadcasting/user-auth"} {
		s := newLoggedStack(t, map[string]string{"JWT_SECRET": testSecret})
		if n := s.log.count(secretWarning); n != 0 {
			t.Fatalf("warned at start-up for one process; log:\n%s", s.log)
		}
		tok, _ := middleware.SignHS256([]byte(testSecret), "1", time.Hour, nil)
		c := wstest.Dial(t, s.wsURL(""), nil)
		c.Subscribe("orders", "", "")
		// Answers that sign nothing do not warn either.
		if status, _ := s.post(t, "/broadcasting/auth", "", url.Values{"socket_id": {c.SocketID}, "channel_name": {"private-a"}}); status != http.StatusUnauthorized {
			t.Fatalf("auth without a token: %d", status)
		}
		if n := s.log.count(secretWarning); n != 0 {
			t.Fatalf("warned before anything was signed; log:\n%s", s.log)
		}
		sign := map[string]func(){
			"/broadcasting/auth": func() {
				if status, body := s.post(t, "/broadcasting/auth", tok, url.Values{"socket_id": {c.SocketID}, "channel_name": {"private-a"}}); status != http.StatusOK {
					t.Fatalf("auth: %d %v", status, body)
				}
			},
			"/broadcasting/user-auth": func() {
				if status, body := s.post(t, "/broadcasting/user-auth", tok, url.Values{"socket_id": {c.SocketID}}); status != http.StatusOK {
					t.Fatalf("user-auth: %d %v", status, body)
				}
			},
		}
		sign[first]()
		if n := s.log.count(secretWarning); n != 1 {
			t.Fatalf("%s signed: %d warnings, want 1; log:\n%s", first, n, s.log)
		}
		sign["/broadcasting/auth"]()
		sign["/broadcasting/user-auth"]()
		if n := s.log.count(secretWarning); n != 1 {
			t.Fatalf("after more signatures: %d warnings, want still 1", n)
		}
	}

	s := newLoggedStack(t, map[string]string{"JWT_SECRET": testSecret, "BROADCAST_APP_SECRET": "app-secret"})
	tok, _ := middleware.SignHS256([]byte(testSecret), "1", time.Hour, nil)
	if status, _ := s.post(t, "/broadcasting/user-auth", tok, url.Values{"socket_id": {"1.1"}}); status != http.StatusOK {
		t.Fatalf("user-auth with a configured secret: %d", status)
	}
	if n := s.log.count(secretWarning); n != 0 {
		t.Fatalf("warned with BROADCAST_APP_SECRET set; log:\n%s", s.log)
	}
}

// With the Redis driver the processes must share the secret: the warning
// comes at start-up, once.
func TestGeneratedSecretWarnsAtStartWithRedis(t *testing.T) {
	t.Parallel()
	env := redisEnv(t)
	env["JWT_SECRET"] = testSecret
	s := newLoggedStack(t, env)
	if n := s.log.count(secretWarning); n != 1 {
		t.Fatalf("%d start-up warnings with the Redis driver, want 1; log:\n%s", n, s.log)
	}
	tok, _ := middleware.SignHS256([]byte(testSecret), "1", time.Hour, nil)
	if status, _ := s.post(t, "/broadcasting/user-auth", tok, url.Values{"socket_id": {"1.1"}}); status != http.StatusOK {
		t.Fatalf("user-auth: %d", status)
	}
	if n := s.log.count(secretWarning); n != 1 {
		t.Fatalf("%d warnings after signing, want still 1", n)
	}
}
