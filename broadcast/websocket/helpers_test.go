package websocket

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitykode/velocity/broadcast"
)

// testServer is a Server behind a real HTTP listener with its own
// Broadcaster.
type testServer struct {
	*Server
	b    *broadcast.Broadcaster
	http *httptest.Server
	url  string
}

func newTestServer(t testing.TB, cfg Config, opts ...Option) *testServer {
	t.Helper()
	s, err := NewServer(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	b := broadcast.New(s)
	hs := httptest.NewServer(s)
	ts := &testServer{Server: s, b: b, http: hs, url: "ws" + strings.TrimPrefix(hs.URL, "http")}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		hs.Close()
	})
	return ts
}

// client is a real WebSocket client of the native protocol.
type client struct {
	t        *testing.T
	ws       *websocket.Conn
	socketID string
}

func (ts *testServer) dial(t *testing.T, hdr http.Header) *client {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(ts.url, hdr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c := &client{t: t, ws: ws}
	t.Cleanup(func() { ws.Close() })
	f := c.read()
	if f.Type != "connected" {
		t.Fatalf("first frame %+v, want connected", f)
	}
	var d struct {
		SocketID        string `json:"socket_id"`
		ActivityTimeout int    `json:"activity_timeout"`
	}
	if err := json.Unmarshal(f.Data, &d); err != nil || !broadcast.ValidSocketID(d.SocketID) || d.ActivityTimeout <= 0 {
		t.Fatalf("connected frame %s: %v", f.raw, err)
	}
	c.socketID = d.SocketID
	return c
}

type frame struct {
	Type    string          `json:"type"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
	UserID  string          `json:"user_id"`
	raw     string
}

func (c *client) send(v any) {
	c.t.Helper()
	var err error
	if s, ok := v.(string); ok {
		err = c.ws.WriteMessage(websocket.TextMessage, []byte(s))
	} else {
		err = c.ws.WriteJSON(v)
	}
	if err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// read returns the next frame, failing the test after 5 s without one.
func (c *client) read() frame {
	c.t.Helper()
	f, err := c.tryRead(5 * time.Second)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return f
}

func (c *client) tryRead(d time.Duration) (frame, error) {
	_ = c.ws.SetReadDeadline(time.Now().Add(d))
	_, data, err := c.ws.ReadMessage()
	if err != nil {
		return frame{}, err
	}
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		c.t.Fatalf("server sent invalid JSON %q: %v", data, err)
	}
	f.raw = string(data)
	return f, nil
}

// expect reads the next frame and checks its type.
func (c *client) expect(typ string) frame {
	c.t.Helper()
	f := c.read()
	if f.Type != typ {
		c.t.Fatalf("got frame %s, want type %q", f.raw, typ)
	}
	return f
}

func (c *client) subscribe(channel string) frame {
	c.t.Helper()
	c.send(map[string]any{"type": "subscribe", "data": map[string]any{"channel": channel}})
	return c.read()
}

// expectClose reads until the connection closes and returns the close code.
func (c *client) expectClose() int {
	c.t.Helper()
	for {
		_ = c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _, err := c.ws.ReadMessage()
		if err == nil {
			continue
		}
		if ce, ok := err.(*websocket.CloseError); ok {
			return ce.Code
		}
		c.t.Fatalf("connection ended without a close frame: %v", err)
	}
}

// roundTrip proves the connection still works.
func (c *client) roundTrip() {
	c.t.Helper()
	c.send(`{"type":"ping"}`)
	c.expect("pong")
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
