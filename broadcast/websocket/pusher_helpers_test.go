package websocket

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/signature"
)

var pusherTestApp = signature.App{ID: "1", Key: "app-key", Secret: "app-secret"}

// pusherServer is a Server with the native protocol at /ws and the Pusher
// protocol at /app/{key}, behind a real listener.
type pusherServer struct {
	*Server
	b    *broadcast.Broadcaster
	base string // ws://host:port
}

func newPusherServer(t *testing.T, cfg Config, opts ...Option) *pusherServer {
	t.Helper()
	s, err := NewServer(cfg, append([]Option{WithApp(pusherTestApp)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	b := broadcast.New(s)
	b.SetAuthorizer(func(ch string, _ any) bool { return !strings.Contains(ch, "forbidden") })
	mux := http.NewServeMux()
	mux.Handle("/ws", s)
	mux.Handle("/app/", s.PusherHandler())
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		hs.Close()
	})
	return &pusherServer{Server: s, b: b, base: "ws" + strings.TrimPrefix(hs.URL, "http")}
}

// pusherClient is a gorilla client speaking the Pusher protocol.
type pusherClient struct {
	t        *testing.T
	ws       *websocket.Conn
	socketID string
}

// pusherMsg is a server frame, with data decoded once when it is a string.
type pusherMsg struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
	UserID  string          `json:"user_id"`
	raw     string
}

// str returns data as the string pusher-js would parse (it must be one).
func (m pusherMsg) str(t *testing.T) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(m.Data, &s); err != nil {
		t.Fatalf("data of %s is not a JSON string", m.raw)
	}
	return s
}

// decode parses the double-encoded data into v.
func (m pusherMsg) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(m.str(t)), v); err != nil {
		t.Fatalf("data of %s: %v", m.raw, err)
	}
}

var socketIDPattern = regexp.MustCompile(`^\d+\.\d+$`)

func (ps *pusherServer) dialPusherRaw(t *testing.T, key string, hdr http.Header) *pusherClient {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(ps.base+"/app/"+key+"?protocol=7&client=js&version=8.6.0&flash=false", hdr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	return &pusherClient{t: t, ws: ws}
}

// dialPusher connects with the app key and checks the handshake.
func (ps *pusherServer) dialPusher(t *testing.T) *pusherClient {
	t.Helper()
	c := ps.dialPusherRaw(t, pusherTestApp.Key, nil)
	m := c.expect("pusher:connection_established")
	var d struct {
		SocketID        string `json:"socket_id"`
		ActivityTimeout int    `json:"activity_timeout"`
	}
	m.decode(t, &d)
	if !socketIDPattern.MatchString(d.SocketID) || d.ActivityTimeout <= 0 {
		t.Fatalf("handshake %s", m.raw)
	}
	c.socketID = d.SocketID
	return c
}

func (c *pusherClient) send(v any) {
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

func (c *pusherClient) tryRead(d time.Duration) (pusherMsg, error) {
	_ = c.ws.SetReadDeadline(time.Now().Add(d))
	_, data, err := c.ws.ReadMessage()
	if err != nil {
		return pusherMsg{}, err
	}
	var m pusherMsg
	if err := json.Unmarshal(data, &m); err != nil {
		c.t.Fatalf("server sent invalid JSON %q: %v", data, err)
	}
	m.raw = string(data)
	return m, nil
}

func (c *pusherClient) expect(event string) pusherMsg {
	c.t.Helper()
	m, err := c.tryRead(5 * time.Second)
	if err != nil {
		c.t.Fatalf("read (want %s): %v", event, err)
	}
	if m.Event != event {
		c.t.Fatalf("got %s, want event %q", m.raw, event)
	}
	return m
}

// roundTrip proves the connection works and nothing else was queued.
func (c *pusherClient) roundTrip() {
	c.t.Helper()
	c.send(`{"event":"pusher:ping","data":{}}`)
	c.expect("pusher:pong")
}

// expectClose reads until the close frame and returns its code.
func (c *pusherClient) expectClose() int {
	c.t.Helper()
	for {
		if _, err := c.tryRead(5 * time.Second); err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				return ce.Code
			}
			c.t.Fatalf("connection ended without a close frame: %v", err)
		}
	}
}

func (c *pusherClient) subscribe(channel, auth, channelData string) {
	c.t.Helper()
	d := map[string]any{"channel": channel, "auth": auth}
	if channelData != "" {
		d["channel_data"] = channelData
	}
	c.send(map[string]any{"event": "pusher:subscribe", "data": d})
}

// join subscribes to a presence channel with a valid signature and
// returns the subscription_succeeded frame.
func (c *pusherClient) join(channel, userID, name string) pusherMsg {
	c.t.Helper()
	cd := `{"user_id":"` + userID + `","user_info":{"name":"` + name + `"}}`
	c.subscribe(channel, signature.ChannelAuth(pusherTestApp, c.socketID, channel, cd), cd)
	return c.expect("pusher_internal:subscription_succeeded")
}

// errorCode returns data.code of a pusher:error frame.
func (m pusherMsg) errorCode(t *testing.T) int {
	t.Helper()
	var d struct {
		Code int `json:"code"`
	}
	m.decode(t, &d)
	return d.Code
}
