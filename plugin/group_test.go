package plugin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/signature"
	"github.com/velocitykode/velocity/internal/wstest"
	"github.com/velocitykode/velocity/middleware"
	"github.com/velocitykode/velocity/plugin"
)

// The endpoints mounted on an *echo.Group: they answer under its prefix,
// and the group's own middleware (the app's sessions here) runs before
// each of them, the WebSocket upgrades included.
func TestRegisterOnGroup(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"BROADCAST_APP_SECRET": "app-secret", "BROADCAST_PUSHER_PATH": "/pusher"}
	cfg, err := plugin.FromLookup(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	b := broadcast.New(nil)
	b.Authorize("user.{id}", func(user any, p map[string]string) (bool, error) {
		return broadcast.UserID(user) == p["id"], nil
	})
	p, err := plugin.New(cfg, plugin.WithBroadcaster(b), plugin.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	// The app's session middleware: X-Session names the user; requests
	// without one are refused before they reach the endpoint. It notes the
	// routes it ran for.
	var mu sync.Mutex
	ran := map[string]bool{}
	session := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			mu.Lock()
			ran[c.Request().Method+" "+c.Path()] = true
			mu.Unlock()
			id := c.Request().Header.Get("X-Session")
			if id == "" {
				return c.JSON(http.StatusForbidden, map[string]string{"error": "no_session"})
			}
			ctx := middleware.WithUser(c.Request().Context(), &middleware.User{ID: id})
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
	e := echo.New()
	p.Register(e.Group("/rt", session))
	srv := httptest.NewServer(e)
	t.Cleanup(func() { shutdown(t, p); srv.Close() })
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http")
	as7 := http.Header{"X-Session": {"7"}}

	// Native WebSocket: the session's user owns the connection.
	c := wstest.Dial(t, wsURL+"/rt/ws", as7)
	if f := c.Subscribe("private-user.7", "", ""); f.Type != "subscription_succeeded" {
		t.Fatalf("private channel of the session's user: %s", f.Raw)
	}
	if f := c.Subscribe("private-user.8", "", ""); f.Type != "subscription_error" {
		t.Fatalf("another user's channel: %s", f.Raw)
	}

	// Pusher WebSocket.
	pc, _, err := websocket.DefaultDialer.Dial(wsURL+"/rt/pusher/app/"+cfg.App.Key, as7)
	if err != nil {
		t.Fatalf("pusher dial: %v", err)
	}
	defer pc.Close()
	_ = pc.SetReadDeadline(time.Now().Add(wstest.ReadTimeout))
	if _, msg, err := pc.ReadMessage(); err != nil || !strings.Contains(string(msg), "pusher:connection_established") {
		t.Fatalf("pusher handshake: %s %v", msg, err)
	}

	// HTTP endpoints, as the session's user.
	do := func(method, path string, hdr http.Header, body string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		for k, v := range hdr {
			req.Header[k] = v
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(raw)
	}
	authBody, _ := json.Marshal(map[string]string{"socket_id": c.SocketID, "channel_name": "private-user.7"})
	if status, _, body := do(http.MethodPost, "/rt/broadcasting/auth", as7, string(authBody)); status != http.StatusOK || !strings.Contains(body, `"auth":"`+cfg.App.Key+`:`) {
		t.Fatalf("auth: %d %s", status, body)
	}
	if status, _, body := do(http.MethodPost, "/rt/broadcasting/user-auth", as7, `{"socket_id":"`+c.SocketID+`"}`); status != http.StatusOK || !strings.Contains(body, `{\"id\":\"7\"}`) {
		t.Fatalf("user-auth: %d %s", status, body)
	}
	if status, _, body := do(http.MethodGet, "/rt/broadcasting/health", as7, ""); status != http.StatusOK || !strings.Contains(body, `"ok"`) {
		t.Fatalf("health: %d %s", status, body)
	}
	status, getHdr, js := do(http.MethodGet, "/rt/broadcasting/client.js", as7, "")
	if status != http.StatusOK || !strings.Contains(getHdr.Get("Content-Type"), "javascript") || js == "" {
		t.Fatalf("client.js: %d %v", status, getHdr)
	}
	q := signature.SignRequest(cfg.App, http.MethodGet, "/apps/"+cfg.App.ID+"/channels", nil, nil, time.Now())
	if status, _, body := do(http.MethodGet, "/rt/pusher/apps/"+cfg.App.ID+"/channels?"+q.Encode(), as7, ""); status != http.StatusOK || !strings.Contains(body, `"private-user.7"`) {
		t.Fatalf("Pusher HTTP API, signed without the group's prefix: %d %s", status, body)
	}

	status, headHdr, headBody := do(http.MethodHead, "/rt/broadcasting/client.js", as7, "")
	if status != http.StatusOK || headBody != "" || headHdr.Get("Content-Length") != strconv.Itoa(len(js)) {
		t.Fatalf("HEAD client.js: %d, %d body bytes, %v", status, len(headBody), headHdr)
	}

	mu.Lock()
	for _, route := range []string{
		"GET /rt/ws",
		"GET /rt/pusher/app/:key",
		"POST /rt/broadcasting/auth",
		"POST /rt/broadcasting/user-auth",
		"GET /rt/broadcasting/health",
		"GET /rt/broadcasting/client.js",
		"HEAD /rt/broadcasting/client.js",
		"GET /rt/pusher/apps/:id/channels",
	} {
		if !ran[route] {
			t.Errorf("the group's middleware did not run for %s (ran for %v)", route, ran)
		}
	}
	mu.Unlock()
	if _, resp, err := websocket.DefaultDialer.Dial(wsURL+"/rt/ws", nil); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("WebSocket dial without a session: %v, want the group middleware's 403", err)
	}
	// Nothing is mounted outside the group.
	for _, path := range []string{"/ws", "/broadcasting/auth", "/broadcasting/client.js"} {
		if status, _, _ := do(http.MethodGet, path, as7, ""); status != http.StatusNotFound {
			t.Errorf("GET %s outside the group: %d, want 404", path, status)
		}
	}
}

// HEAD /broadcasting/client.js answers as GET does, without the body.
func TestClientScriptHead(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	for _, query := range []string{"", "?v=any"} {
		get, err := http.Get(s.srv.URL + "/broadcasting/client.js" + query)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(get.Body)
		get.Body.Close()
		head, err := http.Head(s.srv.URL + "/broadcasting/client.js" + query)
		if err != nil {
			t.Fatal(err)
		}
		headBody, _ := io.ReadAll(head.Body)
		head.Body.Close()
		if get.StatusCode != http.StatusOK || head.StatusCode != http.StatusOK || len(headBody) != 0 {
			t.Fatalf("GET %d, HEAD %d with %d body bytes", get.StatusCode, head.StatusCode, len(headBody))
		}
		for _, h := range []string{"Content-Type", "Content-Length", "ETag", "Cache-Control", "X-Content-Type-Options"} {
			if head.Header.Get(h) != get.Header.Get(h) || get.Header.Get(h) == "" {
				t.Errorf("%s: HEAD %q, GET %q", h, head.Header.Get(h), get.Header.Get(h))
			}
		}
		if head.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
			t.Errorf("HEAD Content-Length %q, GET body %d bytes", head.Header.Get("Content-Length"), len(body))
		}
	}
}

// logBuffer collects a plugin's log lines; handlers log from the server's
// goroutines, so it is locked.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func newLogBuffer() (*slog.Logger, *logBuffer) {
	lb := &logBuffer{}
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelWarn})), lb
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// count counts the lines containing s.
func (l *logBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range strings.Split(l.buf.String(), "\n") {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

func shutdown(t *testing.T, p *plugin.Plugin) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}
