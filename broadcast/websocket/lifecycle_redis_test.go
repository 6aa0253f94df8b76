//go:build unix

package websocket

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/natsbroker"
	"github.com/velocitykode/velocity/internal/testenv"
	"github.com/velocitykode/velocity/internal/wstest"
)

// natsNodes returns n nodes on one NATS, on a prefix of their own.
func natsNodes(t *testing.T, url string, n int, cfg Config) []*testServer {
	t.Helper()
	prefix := "lc" + strings.ReplaceAll(broadcast.NewSocketID(), ".", "_")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var nodes []*testServer
	for range n {
		br, err := natsbroker.New(natsbroker.Options{URL: url, Prefix: prefix, Logger: quiet, CleanupBound: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, newTestServer(t, cfg, WithBroker(br), WithPresenceStore(br.Presence()), WithLogger(quiet), WithApp(pusherTestApp)))
	}
	return nodes
}

// On two processes sharing one Redis or one NATS, occupancy and member
// events fire once for the cluster: on the process whose change made
// them.
func TestLifecycleOncePerCluster(t *testing.T) {
	t.Parallel()
	cfg := Config{PresenceGracePeriod: -1}
	engines := map[string]func(t *testing.T) []*testServer{
		"redis": func(t *testing.T) []*testServer {
			nodes, _, _ := redisNodes(t, testenv.Redis(t), 2, 0, cfg)
			return nodes
		},
		"nats": func(t *testing.T) []*testServer { return natsNodes(t, testenv.NATS(t), 2, cfg) },
	}
	for name, start := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			lifecycleOncePerCluster(t, start(t))
		})
	}
}

func lifecycleOncePerCluster(t *testing.T, nodes []*testServer) {
	var logs []*hookLog
	for _, n := range nodes {
		logs = append(logs, recordHooks(n.b))
	}
	cluster := func() []string {
		var all []string
		for _, l := range logs {
			for _, e := range l.snapshot() {
				if k := strings.Fields(e)[0]; k != "subscribed" && k != "unsubscribed" && !strings.HasPrefix(k, "connection_") {
					all = append(all, e)
				}
			}
		}
		return all
	}
	waitCluster := func(want []string) {
		t.Helper()
		eventually(t, "cluster events", func() bool { return len(cluster()) >= len(want) })
		if got := cluster(); !sameMultiset(got, want) {
			t.Fatalf("cluster events:\n got %q\nwant %q", got, want)
		}
	}

	var clients []*wstest.Client
	for i, n := range nodes {
		for _, user := range []string{"u1", "u2"} {
			c := n.dial(t, nil)
			auth, cd := presenceAuth(c.SocketID, "presence-lobby", user)
			if f := c.Subscribe("presence-lobby", auth, cd); f.Type != "subscription_succeeded" {
				t.Fatalf("node %d %s: %s", i, user, f.Raw)
			}
			subscribe(c, "news")
			clients = append(clients, c)
		}
	}
	waitCluster([]string{
		"channel_occupied presence-lobby",
		"channel_occupied news",
		"member_added presence-lobby user=u1",
		"member_added presence-lobby user=u2",
	})
	for _, c := range clients {
		c.WS.Close()
	}
	waitCluster([]string{
		"channel_occupied presence-lobby",
		"channel_occupied news",
		"member_added presence-lobby user=u1",
		"member_added presence-lobby user=u2",
		"member_removed presence-lobby user=u1",
		"member_removed presence-lobby user=u2",
		"channel_vacated presence-lobby",
		"channel_vacated news",
	})
}
