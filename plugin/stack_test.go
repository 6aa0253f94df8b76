package plugin_test

import (
	"context"
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
	"github.com/velocitykode/velocity/internal/wstest"
	"github.com/velocitykode/velocity/middleware"
	"github.com/velocitykode/velocity/plugin"
)

const testSecret = "test-jwt-secret-of-some-length"

// stack is the whole plugin on a real Echo server, with its own
// broadcaster: users "1", "2", ... may subscribe to private-user.{id} and
// to any presence-chat.{room}.
type stack struct {
	t   *testing.T
	p   *plugin.Plugin
	b   *broadcast.Broadcaster
	srv *httptest.Server
}

func newStack(t *testing.T, env map[string]string, opts ...plugin.Option) *stack {
	t.Helper()
	vars := map[string]string{"JWT_SECRET": testSecret, "BROADCAST_APP_SECRET": "app-secret"}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := plugin.FromLookup(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	b := broadcast.New(nil)
	b.Authorize("user.{id}", func(user any, p map[string]string) (bool, error) {
		return broadcast.UserID(user) == p["id"], nil
	})
	b.Authorize("chat.{room}", func(user any, p map[string]string) (bool, error) { return p["room"] != "secret", nil })
	b.SetPresenceData(func(channel string, user interface{}) interface{} {
		return map[string]string{"name": "user" + broadcast.UserID(user)}
	})
	p, err := plugin.New(cfg, append([]plugin.Option{plugin.WithBroadcaster(b)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	p.Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		srv.Close()
	})
	return &stack{t: t, p: p, b: b, srv: srv}
}

func (s *stack) token(sub string, ttl time.Duration) string {
	s.t.Helper()
	tok, err := middleware.SignHS256([]byte(testSecret), sub, ttl, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// dial connects as the user with id sub ("" for anonymous).
func (s *stack) dial(sub string) *wstest.Client {
	s.t.Helper()
	u := "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/ws"
	if sub != "" {
		u += "?token=" + url.QueryEscape(s.token(sub, time.Hour))
	}
	return wstest.Dial(s.t, u, nil)
}

// auth calls POST /broadcasting/auth as pusher-js does (form-encoded,
// Bearer token) or with JSON.
func (s *stack) auth(token, socketID, channel string, asJSON bool) (int, map[string]string) {
	s.t.Helper()
	var body io.Reader
	ctype := "application/x-www-form-urlencoded"
	if asJSON {
		b, _ := json.Marshal(map[string]string{"socket_id": socketID, "channel_name": channel})
		body, ctype = strings.NewReader(string(b)), "application/json"
	} else {
		body = strings.NewReader(url.Values{"socket_id": {socketID}, "channel_name": {channel}}.Encode())
	}
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/broadcasting/auth", body)
	req.Header.Set("Content-Type", ctype)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]string{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// members decodes the member list of a presence subscription_succeeded.
func members(t *testing.T, f wstest.Frame) []string {
	t.Helper()
	var d struct {
		Members []broadcast.Member `json:"members"`
		Count   int                `json:"count"`
	}
	if err := json.Unmarshal(f.Data, &d); err != nil || d.Count != len(d.Members) {
		t.Fatalf("presence data %s: %v", f.Raw, err)
	}
	ids := make([]string, len(d.Members))
	for i, m := range d.Members {
		ids[i] = m.UserID
	}
	return ids
}
