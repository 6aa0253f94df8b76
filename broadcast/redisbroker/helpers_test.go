package redisbroker

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitykode/velocity/broadcast"
	ws "github.com/velocitykode/velocity/broadcast/websocket"
	"github.com/velocitykode/velocity/internal/nodetest"
	"github.com/velocitykode/velocity/internal/testenv"
)

// node is one app process of a test cluster: a websocket.Server with a
// Redis broker, its own Broadcaster and HTTP listener.
type node struct {
	srv  *ws.Server
	br   *Broker
	b    *broadcast.Broadcaster
	http *httptest.Server
	url  string
	logs *testenv.Buffer
}

// newNode starts a node on url with prefix; mod adjusts the options.
// Its presence grace period is off: the tests assert when member_removed
// goes out.
func newNode(t testing.TB, url, prefix string, mod func(*Options)) *node {
	t.Helper()
	return newNodeConfig(t, url, prefix, ws.Config{PresenceGracePeriod: -1}, mod)
}

// newNodeConfig is newNode with the server's configuration cfg.
func newNodeConfig(t testing.TB, url, prefix string, cfg ws.Config, mod func(*Options)) *node {
	t.Helper()
	logs := &testenv.Buffer{}
	opts := Options{URL: url, Prefix: prefix, Logger: logs.Logger()}
	if mod != nil {
		mod(&opts)
	}
	br, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := nodetest.NewServer(cfg, br, br.Presence(), logs.Logger())
	if err != nil {
		t.Fatal(err)
	}
	n := &node{srv: srv, br: br, b: newBroadcaster(srv), logs: logs}
	n.http, n.url = nodetest.Serve(t, srv, logs)
	return n
}

// nodes starts n nodes sharing one Redis and one prefix.
func nodes(t *testing.T, n int, mod func(*Options)) []*node {
	t.Helper()
	url := redisURL(t)
	prefix := testPrefix(t, url)
	out := make([]*node, n)
	for i := range out {
		out[i] = newNode(t, url, prefix, mod)
	}
	return out
}

// marker emits "marker" on channel from n and expects it as c's next
// frame, proving nothing else was pending.
func marker(t *testing.T, n *node, c *client, channel string) {
	t.Helper()
	if err := n.b.Channel(channel).Emit("marker", 0); err != nil {
		t.Fatal(err)
	}
	if f := c.expect("marker"); f.Channel != channel {
		t.Fatalf("marker on %s", f.raw)
	}
}

// newBroadcaster binds a broadcaster whose authorizer admits any user
// except on channels containing "forbidden".
func newBroadcaster(d broadcast.Driver) *broadcast.Broadcaster {
	return nodetest.NewBroadcaster(d, func(ch string, user any) bool {
		return user != nil && !strings.Contains(ch, "forbidden")
	})
}

// client is a native-protocol WebSocket client.
type client struct {
	t        testing.TB
	ws       *websocket.Conn
	socketID string
}

type frame struct {
	Type    string          `json:"type"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
	UserID  string          `json:"user_id"`
	raw     string
}

// dial connects to n as user ("" for anonymous).
func (n *node) dial(t testing.TB, user string) *client {
	t.Helper()
	u := n.url
	if user != "" {
		u += "?user=" + user
	}
	conn, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &client{t: t, ws: conn}
	f := c.expect("connected")
	var d struct {
		SocketID string `json:"socket_id"`
	}
	if err := json.Unmarshal(f.Data, &d); err != nil || d.SocketID == "" {
		t.Fatalf("connected frame %s", f.raw)
	}
	c.socketID = d.SocketID
	return c
}

func (c *client) send(s string) {
	c.t.Helper()
	if err := c.trySend(s); err != nil {
		c.t.Fatal(err)
	}
}

// trySend is send for goroutines other than the test's.
func (c *client) trySend(s string) error {
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	return nil
}

func (c *client) tryRead(d time.Duration) (frame, error) {
	_ = c.ws.SetReadDeadline(time.Now().Add(d))
	_, data, err := c.ws.ReadMessage()
	if err != nil {
		return frame{}, err
	}
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		c.t.Fatalf("invalid JSON %q: %v", data, err)
	}
	f.raw = string(data)
	return f, nil
}

// expect reads the next frame (5 s at most) and checks its type.
func (c *client) expect(typ string) frame {
	c.t.Helper()
	f, err := c.tryRead(5 * time.Second)
	if err != nil {
		c.t.Fatalf("read, want %q: %v", typ, err)
	}
	if f.Type != typ {
		c.t.Fatalf("got %s, want type %q", f.raw, typ)
	}
	return f
}

// waitFor reads frames until one satisfies match (5 s at most).
func (c *client) waitFor(what string, match func(frame) bool) frame {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		f, err := c.tryRead(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", what, err)
		}
		if match(f) {
			return f
		}
	}
}

// subscribe joins channel and returns the reply frame once the server is
// done with the join. A connection's frames are handled in order, so the
// pong that follows proves that the server has added the connection to
// its hub (which it does just after queuing subscription_succeeded) and
// has published its member_added (which must not reach a later joiner).
func (c *client) subscribe(channel string) frame {
	c.t.Helper()
	c.send(`{"type":"subscribe","data":{"channel":"` + channel + `"}}`)
	f := c.expect("subscription_succeeded")
	c.quiet()
	return f
}

// quiet proves that nothing but the pong is pending.
func (c *client) quiet() {
	c.t.Helper()
	c.send(`{"type":"ping"}`)
	c.expect("pong")
}

// members parses a presence subscription_succeeded frame.
func members(t testing.TB, f frame) []string {
	t.Helper()
	var d struct {
		Members []broadcast.Member `json:"members"`
	}
	if err := json.Unmarshal(f.Data, &d); err != nil {
		t.Fatalf("members of %s: %v", f.raw, err)
	}
	ids := make([]string, len(d.Members))
	for i, m := range d.Members {
		ids[i] = m.UserID
	}
	return ids
}

func userOf(t testing.TB, f frame) string {
	t.Helper()
	var d struct {
		UserID string `json:"user_id"`
	}
	if err := json.Unmarshal(f.Data, &d); err != nil {
		t.Fatalf("user of %s: %v", f.raw, err)
	}
	return d.UserID
}
