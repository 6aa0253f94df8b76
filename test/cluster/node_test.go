package cluster_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
	ws "github.com/velocitykode/velocity/broadcast/websocket"
	"github.com/velocitykode/velocity/internal/nodetest"
	"github.com/velocitykode/velocity/internal/testenv"
	"github.com/velocitykode/velocity/internal/wstest"
)

// defaultBound is the cleanup bound of the test nodes: short enough for
// the kill tests, long enough for a loaded machine.
const defaultBound = 3 * time.Second

// node is one app process of a test cluster: a websocket.Server with its
// broker, its own Broadcaster and HTTP listener.
type node struct {
	srv      *ws.Server
	br       engineBroker
	presence *recordingPresence
	b        *broadcast.Broadcaster
	url      string
	logs     *testenv.Buffer
}

// nodeConfig is how a test node is set up.
type nodeConfig struct {
	url, prefix string
	bound       time.Duration // cleanup bound; 0: defaultBound
	timeout     time.Duration // back-end call timeout; 0: the engine's default
	grace       time.Duration // presence grace period; 0: off
}

// cluster is the shared back end and namespace of one test's nodes.
type cluster struct {
	e engine
	nodeConfig
}

// newCluster returns a namespace of t's own on e's shared back end.
func newCluster(t *testing.T, e engine) *cluster {
	t.Helper()
	url := e.url(t)
	return &cluster{e: e, nodeConfig: nodeConfig{url: url, prefix: e.prefix(t, url)}}
}

// nodes starts n nodes of c.
func (c *cluster) nodes(t *testing.T, n int) []*node {
	t.Helper()
	out := make([]*node, n)
	for i := range out {
		out[i] = c.node(t)
	}
	return out
}

// node starts one node of c.
func (c *cluster) node(t *testing.T) *node {
	t.Helper()
	return startNode(t, c.e, c.nodeConfig)
}

// startNode starts a node of e with cfg; it shuts down when t ends.
func startNode(t testing.TB, e engine, cfg nodeConfig) *node {
	t.Helper()
	logs := &testenv.Buffer{}
	n, err := openNode(e, cfg, logs.Logger())
	if err != nil {
		t.Fatal(err)
	}
	n.logs = logs
	_, n.url = nodetest.Serve(t, n.srv, logs)
	return n
}

// openNode builds a node's broker and server; the caller serves it.
func openNode(e engine, cfg nodeConfig, log *slog.Logger) (*node, error) {
	bound := cfg.bound
	if bound == 0 {
		bound = defaultBound
	}
	br, p, err := e.open(brokerOptions{URL: cfg.url, Prefix: cfg.prefix, CleanupBound: bound, Timeout: cfg.timeout, Logger: log})
	if err != nil {
		return nil, err
	}
	grace := cfg.grace
	if grace == 0 {
		grace = -1 // off: the tests assert when member_removed goes out
	}
	rp := &recordingPresence{GracefulPresence: p}
	srv, err := nodetest.NewServer(ws.Config{PresenceGracePeriod: grace}, br, rp, log)
	if err != nil {
		return nil, err
	}
	return &node{srv: srv, br: br, presence: rp, b: nodetest.NewBroadcaster(srv, anyUser)}, nil
}

// anyUser admits any user, and no anonymous connection.
func anyUser(_ string, user any) bool { return user != nil }

// recordingPresence is a node's presence store that records the
// departures the node held and the expiries it asked for, so that tests
// can wait for them.
type recordingPresence struct {
	broker.GracefulPresence
	onHeld  func(channel, userID string) // if set, called for each held departure
	mu      sync.Mutex
	held    map[string]int // "channel user" -> held departures
	expired map[string]int // "channel user" -> expiries asked for
}

// LeaveGrace implements broker.GracefulPresence.
func (p *recordingPresence) LeaveGrace(ctx context.Context, channel, socketID, userID string, until time.Time) (bool, error) {
	held, err := p.GracefulPresence.LeaveGrace(ctx, channel, socketID, userID, until)
	if held && err == nil {
		p.count(&p.held, channel, userID)
		if p.onHeld != nil {
			p.onHeld(channel, userID)
		}
	}
	return held, err
}

// ExpireGrace implements broker.GracefulPresence.
func (p *recordingPresence) ExpireGrace(ctx context.Context, channel, userID string, until time.Time) (bool, uint64, error) {
	removed, version, err := p.GracefulPresence.ExpireGrace(ctx, channel, userID, until)
	if err == nil {
		p.count(&p.expired, channel, userID)
	}
	return removed, version, err
}

func (p *recordingPresence) count(m *map[string]int, channel, userID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if *m == nil {
		*m = map[string]int{}
	}
	(*m)[channel+" "+userID]++
}

// heldCount returns how many departures of userID from channel this node
// held.
func (p *recordingPresence) heldCount(channel, userID string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held[channel+" "+userID]
}

// expiredCount returns how many expiries of userID's departure from
// channel this node's timers asked for.
func (p *recordingPresence) expiredCount(channel, userID string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.expired[channel+" "+userID]
}

// dial connects to n as user ("" for anonymous).
func (n *node) dial(t testing.TB, user string) *wstest.Client {
	t.Helper()
	return dialURL(t, n.url, user)
}

func dialURL(t testing.TB, url, user string) *wstest.Client {
	t.Helper()
	if user != "" {
		url += "?user=" + user
	}
	return wstest.Dial(t, url, nil)
}

// members returns the presence members of channel as n's broker sees
// them.
func (n *node) members(t testing.TB, channel string) []broadcast.Member {
	t.Helper()
	m, err := n.presence.Members(t.Context(), channel)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func unsubscribe(c *wstest.Client, channel string) {
	c.Send(`{"type":"unsubscribe","data":{"channel":"` + channel + `"}}`)
}

// marker emits "marker" on channel from n and expects it as the next
// frame of every observer, proving nothing else was pending.
func marker(t testing.TB, n *node, channel string, observers ...*wstest.Client) {
	t.Helper()
	if err := n.b.Channel(channel).Emit("marker", 0); err != nil {
		t.Fatal(err)
	}
	for _, c := range observers {
		if f := c.Expect("marker"); f.Channel != channel {
			t.Fatalf("marker on %s", f.Raw)
		}
	}
}

// memberIDs parses a presence subscription_succeeded frame.
func memberIDs(t testing.TB, f wstest.Frame) []string {
	t.Helper()
	var d struct {
		Members []broadcast.Member `json:"members"`
	}
	if err := json.Unmarshal(f.Data, &d); err != nil {
		t.Fatalf("members of %s: %v", f.Raw, err)
	}
	ids := make([]string, len(d.Members))
	for i, m := range d.Members {
		ids[i] = m.UserID
	}
	return ids
}

// readWithin returns c's next frame, waiting d at most.
func readWithin(t testing.TB, c *wstest.Client, d time.Duration) wstest.Frame {
	t.Helper()
	_ = c.WS.SetReadDeadline(time.Now().Add(d))
	_, data, err := c.WS.ReadMessage()
	if err != nil {
		t.Fatalf("no frame within %s: %v", d, err)
	}
	var f wstest.Frame
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("invalid JSON %q: %v", data, err)
	}
	f.Raw = string(data)
	return f
}

// stays checks cond every 10ms for d, failing as soon as it does not
// hold: for what must not happen, where no event marks that it will not.
func stays(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !cond() {
			t.Fatalf("%s: no longer so", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
