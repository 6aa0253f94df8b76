package natsbroker

import (
	"net/http/httptest"
	"testing"

	"github.com/velocitykode/velocity/broadcast"
	ws "github.com/velocitykode/velocity/broadcast/websocket"
	"github.com/velocitykode/velocity/internal/nodetest"
	"github.com/velocitykode/velocity/internal/testenv"
	"github.com/velocitykode/velocity/internal/wstest"
)

// node is one app process of a test cluster: a websocket.Server with a
// NATS broker, its own Broadcaster and HTTP listener.
type node struct {
	srv  *ws.Server
	br   *Broker
	b    *broadcast.Broadcaster
	http *httptest.Server
	url  string
	logs *testenv.Buffer
}

// newNode starts a node on url with prefix; mod adjusts the options.
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

// newBroadcaster binds a broadcaster whose authorizer admits anyone.
func newBroadcaster(d broadcast.Driver) *broadcast.Broadcaster {
	return nodetest.NewBroadcaster(d, func(string, any) bool { return true })
}

// dial connects to n as user ("" for anonymous).
func (n *node) dial(t testing.TB, user string) *wstest.Client {
	t.Helper()
	u := n.url
	if user != "" {
		u += "?user=" + user
	}
	return wstest.Dial(t, u, nil)
}
