//go:build unix

package websocket

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/redisbroker"
	"github.com/velocitykode/velocity/internal/testenv"
	"github.com/velocitykode/velocity/internal/wstest"
)

// redisNodes returns n nodes with cfg on one Redis, under a key prefix of
// their own; timeout is the Redis timeout (0: the default).
func redisNodes(t *testing.T, url string, n int, timeout time.Duration, cfg Config) ([]*testServer, []*redisbroker.Broker, string) {
	t.Helper()
	prefix := "nodes:" + broadcast.NewSocketID() + ":"
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var nodes []*testServer
	var brokers []*redisbroker.Broker
	for range n {
		br, err := redisbroker.New(redisbroker.Options{URL: url, Prefix: prefix, Logger: quiet, Timeout: timeout, CleanupBound: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, newTestServer(t, cfg, WithBroker(br), WithPresenceStore(br.Presence()), WithLogger(quiet), WithApp(pusherTestApp)))
		brokers = append(brokers, br)
	}
	return nodes, brokers, prefix
}

// historyNodes returns n nodes with historyConfig on one Redis.
func historyNodes(t *testing.T, url string, n int, timeout time.Duration) ([]*testServer, []*redisbroker.Broker, string) {
	t.Helper()
	return redisNodes(t, url, n, timeout, historyConfig())
}

// Recovery on Redis: the client comes back on the other node.
func TestRecoveryOnAnotherNode(t *testing.T) {
	t.Parallel()
	nodes, _, _ := historyNodes(t, testenv.Redis(t), 2, 0)
	recoveryCheck(t, nodes[0], nodes[0], nodes[1])
}

// When the stored history is lost, the next publication starts a new
// epoch, and a since of the old one is answered with recovered:false.
func TestRecoveryAfterHistoryLost(t *testing.T) {
	t.Parallel()
	url := testenv.Redis(t)
	nodes, _, prefix := historyNodes(t, url, 1, 0)
	ts := nodes[0]
	c := ts.dial(t, nil)
	subscribe(c, "orders")
	emitSeq(t, ts.b, "orders", 0, 3)
	old := c.Read().Epoch
	expectSeq(t, c, 1, 3, 2, old)

	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opts)
	defer rc.Close()
	if err := rc.Del(t.Context(), prefix+"{orders}:history:stream", prefix+"{orders}:history:meta").Err(); err != nil {
		t.Fatal(err)
	}
	emitSeq(t, ts.b, "orders", 3, 4)
	f := c.Read()
	if f.Offset != 1 || f.Epoch == "" || f.Epoch == old {
		t.Fatalf("first publication after the history was lost: %s, want offset 1 in a new epoch", f.Raw)
	}
	c2 := ts.dial(t, nil)
	g := subscribeSince(c2, "orders", 3, old)
	if p := g.Position(); p.Recovered == nil || *p.Recovered || p.Epoch != f.Epoch || p.Offset != 1 {
		t.Fatalf("since of the lost epoch: %s", g.Raw)
	}
	emitSeq(t, ts.b, "orders", 4, 5)
	expectSeq(t, c2, 4, 5, 2, f.Epoch)
}

// With history on, a node whose broker subscription is interrupted fills
// the gap itself: Redis (the test's own) is frozen while a publisher on
// another node keeps publishing, and the subscriber gets every
// publication that was acknowledged, once each, in order, without being
// closed.
func TestNodeRecoveryAfterRedisFreeze(t *testing.T) {
	t.Parallel()
	rs := testenv.StartRedis(t)
	nodes, brokers, _ := historyNodes(t, rs.URL(), 2, frozenTimeout)
	sub, pub := nodes[0], nodes[1]
	c := sub.dial(t, nil)
	subscribe(c, "orders")
	epoch := "" // the first publication's

	pub1 := wstest.StartPublisher(2*time.Millisecond, func(i int) error {
		return pub.b.Channel("orders").Emit("Seq", map[string]int{"i": i})
	})
	defer pub1.Stop()
	acked := func() int { n, _ := pub1.Counts(); return n }
	wstest.Eventually(t, "publishes before the freeze", func() bool { return acked() >= 100 })
	rs.Freeze()
	// The outage lasts three Redis timeouts: the subscriber node's
	// pub/sub connection is declared dead and replaced.
	time.Sleep(3 * frozenTimeout)
	rs.Thaw()
	wstest.Eventually(t, "both nodes healthy again", func() bool { return brokers[0].Healthy() && brokers[1].Healthy() })
	n0 := acked()
	wstest.Eventually(t, "publishes after the thaw", func() bool { return acked() >= n0+100 })
	want, failedList := pub1.Stop()
	nfailed := len(failedList)

	got := map[int]bool{}
	next := uint64(1)
	for _, i := range want {
		for !got[i] {
			f := c.Read()
			if f.Type != "Seq" {
				t.Fatalf("while waiting for acknowledged event %d: %s", i, f.Raw)
			}
			if epoch == "" {
				epoch = f.Epoch
			}
			if f.Offset != next || f.Epoch != epoch {
				t.Fatalf("event %s at offset %d/%q, want offset %d in %q (a gap or a duplicate)", f.Data, f.Offset, f.Epoch, next, epoch)
			}
			next++
			got[seqOfFrame(t, f)] = true
		}
	}
	st := sub.Stats()
	t.Logf("%d publishes acknowledged, all delivered; %d failed during the freeze; %d offsets delivered; %d gaps filled with %d publications",
		len(want), nfailed, next-1, st.GapsFilled, st.Filled)
	if st.GapsFilled == 0 || st.GapsUnfilled != 0 {
		t.Fatalf("stats %+v: the node filled no gap, so the freeze tested nothing", st)
	}
	if nfailed == 0 {
		t.Fatalf("no publish failed: Redis was not frozen long enough to test anything")
	}
}

// Subscription counts are cluster-wide: subscribers on two nodes both
// learn the total, and a leave on one node reaches the other.
func TestSubscriptionCountsAcrossNodes(t *testing.T) {
	t.Parallel()
	nodes, _, _ := redisNodes(t, testenv.Redis(t), 2, 0, Config{SubscriptionCount: true, SubscriptionCountInterval: 20 * time.Millisecond})
	a, b, c := nodes[0].dial(t, nil), nodes[1].dial(t, nil), nodes[1].dial(t, nil)
	subscribe(a, "orders")
	subscribe(b, "orders")
	subscribe(c, "orders")
	readCount(t, a, 3)
	readCount(t, b, 3)
	c.Send(map[string]any{"type": "unsubscribe", "data": map[string]string{"channel": "orders"}})
	readCount(t, a, 2)
	readCount(t, b, 2)
}
