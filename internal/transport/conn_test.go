package transport

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitykode/velocity/internal/wsframe"
)

// echoHandler sends every text frame back and records the connection's
// end.
type echoHandler struct {
	conn     chan *Conn
	c        *Conn
	released chan struct{}
}

func (h *echoHandler) HandleText(data []byte) { h.c.Send(wsframe.Text(data)) }
func (h *echoHandler) HandleBinary()          {}
func (h *echoHandler) ReadEnded()             {}
func (h *echoHandler) CloseCode(code int) int { return code }
func (h *echoHandler) Released()              { close(h.released) }

var testConfig = Config{
	MaxQueueBytes: 1 << 20, MaxQueueBurstBytes: 32 << 20, MaxMessageSize: 1 << 17, WriteTimeout: 5 * time.Second,
	ReadTimeout: 30 * time.Second, PingInterval: 10 * time.Second, WriteCoalesce: time.Millisecond,
}

// serve returns a client connected to one served Conn, and that Conn's
// handler.
func serve(t *testing.T) (*websocket.Conn, *echoHandler) {
	t.Helper()
	return serveWith(t, testConfig)
}

// serveWith is serve with a pool bounded by cfg.
func serveWith(t *testing.T, cfg Config) (*websocket.Conn, *echoHandler) {
	t.Helper()
	pool := NewPool(cfg)
	h := &echoHandler{conn: make(chan *Conn, 1), released: make(chan struct{})}
	var up websocket.Upgrader
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		h.c = pool.Attach(ws, h)
		h.conn <- h.c
		h.c.Serve()
	}))
	t.Cleanup(hs.Close)
	client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	<-h.conn
	return client, h
}

func TestEchoThenRelease(t *testing.T) {
	t.Parallel()
	client, h := serve(t)
	for _, msg := range []string{"one", "two", strings.Repeat("x", 70000)} {
		if err := client.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, got, err := client.ReadMessage()
		if err != nil || string(got) != msg {
			t.Fatalf("echo of %d bytes: got %d bytes, %v", len(msg), len(got), err)
		}
	}
	_ = client.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""))
	select {
	case <-h.released:
	case <-time.After(5 * time.Second):
		t.Fatal("connection not released after the client closed")
	}
	if h.c.Send(wsframe.Text([]byte("late"))) {
		t.Fatal("a closed connection accepted a frame")
	}
}

// gorilla never writes to a socket the fast path writes to: every byte
// goes through the connection's queue and its one writer.
func TestLibraryWriterIsMuted(t *testing.T) {
	t.Parallel()
	client, h := serve(t)
	if !h.c.FastPath() {
		t.Skip("no non-blocking write fast path on this system")
	}
	if err := h.c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1011, "x"), time.Now().Add(time.Second)); err == nil {
		t.Fatal("gorilla wrote a close frame on a served connection")
	}
	if err := client.WriteMessage(websocket.TextMessage, []byte("still open")); err != nil {
		t.Fatal(err)
	}
	_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, got, err := client.ReadMessage(); err != nil || string(got) != "still open" {
		t.Fatalf("after the muted write: %q, %v", got, err)
	}
}
