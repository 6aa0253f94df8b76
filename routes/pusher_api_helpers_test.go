package routes

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/signature"
	ws "github.com/velocitykode/velocity/broadcast/websocket"
)

var apiApp = signature.App{ID: "3", Key: "278d425bdf160c739803", Secret: "7ad3773142a6692b25b8"}

var _ PusherBackend = (*ws.Server)(nil)

// apiStack is the Echo app of the plugin's routes on a real websocket
// server, under a path prefix.
type apiStack struct {
	srv    *ws.Server
	b      *broadcast.Broadcaster
	url    string // http://host:port and the group's prefix
	prefix string
}

func newAPIStack(t *testing.T, prefix string, maxPayload int) *apiStack {
	t.Helper()
	return newAPIStackOn(t, "", prefix, maxPayload)
}

// newAPIStackOn mounts the routes on the Echo group of groupPrefix ("":
// on the Echo app itself).
func newAPIStackOn(t *testing.T, groupPrefix, prefix string, maxPayload int, opts ...func(*Routes)) *apiStack {
	t.Helper()
	srv, err := ws.NewServer(ws.Config{}, ws.WithApp(apiApp))
	if err != nil {
		t.Fatal(err)
	}
	b := broadcast.New(srv)
	b.SetAuthorizer(func(string, any) bool { return true })
	e := echo.New()
	var r Router = e
	if groupPrefix != "" {
		r = e.Group(groupPrefix)
	}
	rt := Routes{
		WebSocketPath: "/ws", WebSocket: srv, Broadcaster: b, App: apiApp,
		User: func(r *http.Request) (any, error) {
			if u := r.Header.Get("X-Test-User"); u != "" {
				return u, nil
			}
			return nil, nil
		},
		PusherPrefix: prefix, Pusher: srv.PusherHandler(), PusherAPI: srv, MaxPayloadBytes: maxPayload,
	}
	for _, o := range opts {
		o(&rt)
	}
	rt.Mount(r)
	hs := httptest.NewServer(e)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	})
	return &apiStack{srv: srv, b: b, url: hs.URL + groupPrefix, prefix: prefix}
}

// call sends a request signed as the node SDK does (path without the
// prefix, raw query values) at time at; mutate may spoil it afterwards.
func (s *apiStack) call(t *testing.T, method, path string, query url.Values, body string, at time.Time, mutate func(url.Values)) (int, map[string]any) {
	t.Helper()
	q := signature.SignRequest(apiApp, method, path, query, []byte(body), at)
	if mutate != nil {
		mutate(q)
	}
	status, raw := s.send(t, method, path, q, body)
	var out map[string]any
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		t.Fatalf("%s %s: status %d, body %q is not a JSON object", method, path, status, raw)
	}
	return status, out
}

func (s *apiStack) post(t *testing.T, path, body string) (int, map[string]any) {
	t.Helper()
	return s.call(t, http.MethodPost, path, nil, body, time.Now(), nil)
}

func (s *apiStack) get(t *testing.T, path string, query url.Values) (int, map[string]any) {
	t.Helper()
	return s.call(t, http.MethodGet, path, query, "", time.Now(), nil)
}

// wsClient is a raw WebSocket client of either protocol.
type wsClient struct {
	t  *testing.T
	c  *websocket.Conn
	id string
}

func (s *apiStack) dial(t *testing.T, path string) *wsClient {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.url, "http")+path, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	t.Cleanup(func() { c.Close() })
	w := &wsClient{t: t, c: c}
	m := w.read()
	var d struct {
		SocketID string `json:"socket_id"`
	}
	if s, ok := m["data"].(string); ok { // Pusher: double-encoded
		_ = json.Unmarshal([]byte(s), &d)
	} else {
		raw, _ := json.Marshal(m["data"])
		_ = json.Unmarshal(raw, &d)
	}
	if d.SocketID == "" {
		t.Fatalf("no socket id in %v", m)
	}
	w.id = d.SocketID
	return w
}

// pusher dials the Pusher endpoint and subscribes to channels.
func (s *apiStack) pusher(t *testing.T, channels ...string) *wsClient {
	t.Helper()
	w := s.dial(t, s.prefix+"/app/"+apiApp.Key)
	for _, ch := range channels {
		w.send(`{"event":"pusher:subscribe","data":{"channel":"` + ch + `","auth":""}}`)
		w.want("event", "pusher_internal:subscription_succeeded")
	}
	return w
}

// native dials /ws and subscribes to channels.
func (s *apiStack) native(t *testing.T, channels ...string) *wsClient {
	t.Helper()
	w := s.dial(t, "/ws")
	for _, ch := range channels {
		w.send(`{"type":"subscribe","data":{"channel":"` + ch + `"}}`)
		w.want("type", "subscription_succeeded")
	}
	return w
}

func (w *wsClient) send(frame string) {
	w.t.Helper()
	if err := w.c.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		w.t.Fatal(err)
	}
}

func (w *wsClient) read() map[string]any {
	w.t.Helper()
	_ = w.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := w.c.ReadMessage()
	if err != nil {
		w.t.Fatalf("read: %v", err)
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		w.t.Fatalf("invalid frame %q", data)
	}
	return m
}

// want reads the next frame and checks field (event or type).
func (w *wsClient) want(field, value string) map[string]any {
	w.t.Helper()
	m := w.read()
	if m[field] != value {
		w.t.Fatalf("got %v, want %s %q", m, field, value)
	}
	return m
}

// quiet proves nothing else was queued for a Pusher client.
func (w *wsClient) quiet() {
	w.t.Helper()
	w.send(`{"event":"pusher:ping","data":{}}`)
	w.want("event", "pusher:pong")
}
