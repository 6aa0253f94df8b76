//go:build unix

package websocket

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast/redisbroker"
	"github.com/velocitykode/velocity/internal/testenv"
	"github.com/velocitykode/velocity/internal/wstest"
)

const frozenTimeout = time.Second // the Redis timeout of these tests

// redisTestServer is a server on a Redis broker of the test's own Redis.
func redisTestServer(t *testing.T, rs *testenv.RedisServer) (*testServer, *redisbroker.Broker) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	br, err := redisbroker.New(redisbroker.Options{URL: rs.URL(), Prefix: "frozen:", Timeout: frozenTimeout,
		CleanupBound: 3 * time.Second, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return newTestServer(t, Config{}, WithBroker(br), WithPresenceStore(br.Presence()), WithLogger(quiet), WithApp(pusherTestApp)), br
}

// answer is a frame and when it was read.
type answer struct {
	f   wstest.Frame
	at  time.Time
	err error
}

func readAsync(c *wstest.Client) <-chan answer {
	out := make(chan answer, 1)
	go func() {
		f, err := c.TryRead()
		out <- answer{f, time.Now(), err}
	}()
	return out
}

// With Redis frozen, a subscribe to a channel the node already listens to
// is answered while subscribes to channels it does not listen to are still
// pending; those fail with 4500 within the Redis timeout, side by side
// rather than one after the other, though all three channels share a
// stripe.
func TestFrozenRedisJoinsDoNotWaitForEachOther(t *testing.T) {
	t.Parallel()
	rs := testenv.StartRedis(t)
	ts, _ := redisTestServer(t, rs)
	cold1 := "frozen-cold"
	mates := sameStripe(ts.Server, cold1, 2)
	cold2, warm := mates[0], mates[1]
	listener := ts.dial(t, nil)
	subscribe(listener, warm)
	a, b, w := ts.dial(t, nil), ts.dial(t, nil), ts.dial(t, nil)

	rs.Freeze()
	start := time.Now()
	a.Send(map[string]any{"type": "subscribe", "data": map[string]string{"channel": cold1}})
	b.Send(map[string]any{"type": "subscribe", "data": map[string]string{"channel": cold2}})
	ra, rb := readAsync(a), readAsync(b)
	if f := w.Subscribe(warm, "", ""); f.Type != "subscription_succeeded" {
		t.Fatalf("warm subscribe: %s", f.Raw)
	}
	warmAt := time.Now()
	x, y := <-ra, <-rb
	for _, r := range []answer{x, y} {
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.f.Type != "subscription_error" || r.f.Code() != CodeInternal {
			t.Fatalf("cold subscribe: %s", r.f.Raw)
		}
		if !r.at.After(warmAt) {
			t.Fatalf("a cold subscribe was answered before the warm one: the warm one waited")
		}
		if took := r.at.Sub(start); took > 3*frozenTimeout {
			t.Fatalf("cold subscribe failed after %s, Redis timeout %s", took, frozenTimeout)
		}
	}
	if gap := x.at.Sub(y.at).Abs(); gap > frozenTimeout/2 {
		t.Fatalf("cold subscribes answered %s apart: one waited for the other", gap)
	}
	t.Logf("warm answered after %s; cold ones failed after %s and %s", warmAt.Sub(start), x.at.Sub(start), y.at.Sub(start))
	a.RoundTrip()
	w.RoundTrip()
	rs.Thaw()
}

// With Redis frozen, presence joins to two channels the node listens to
// fail with 4500 side by side: the presence store orders the writes of
// one channel, never of two (the channels were picked to share a slot of
// a fixed table of 64 locks, which made one wait for the other).
func TestFrozenRedisPresenceJoinsDoNotWaitForEachOther(t *testing.T) {
	t.Parallel()
	rs := testenv.StartRedis(t)
	ts, _ := redisTestServer(t, rs)
	slot := func(ch string) uint32 { h := fnv.New32a(); _, _ = h.Write([]byte(ch)); return h.Sum32() % 64 }
	chA, chB := "presence-frozen-a", ""
	for i := 0; chB == ""; i++ {
		if ch := fmt.Sprintf("presence-frozen-b%d", i); slot(ch) == slot(chA) {
			chB = ch
		}
	}
	listener := ts.dial(t, nil)
	for _, ch := range []string{chA, chB} {
		auth, cd := presenceAuth(listener.SocketID, ch, "listener")
		if f := listener.Subscribe(ch, auth, cd); f.Type != "subscription_succeeded" {
			t.Fatalf("listener on %s: %s", ch, f.Raw)
		}
	}
	a, b := ts.dial(t, nil), ts.dial(t, nil)

	rs.Freeze()
	defer rs.Thaw()
	start := time.Now()
	for _, j := range []struct {
		c  *wstest.Client
		ch string
	}{{a, chA}, {b, chB}} {
		auth, cd := presenceAuth(j.c.SocketID, j.ch, j.c.SocketID)
		j.c.Send(map[string]any{"type": "subscribe", "data": map[string]string{"channel": j.ch, "auth": auth, "channel_data": cd}})
	}
	ra, rb := readAsync(a), readAsync(b)
	x, y := <-ra, <-rb
	for _, r := range []answer{x, y} {
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.f.Type != "subscription_error" || r.f.Code() != CodeInternal {
			t.Fatalf("presence join with Redis frozen: %s", r.f.Raw)
		}
	}
	if gap := x.at.Sub(y.at).Abs(); gap > frozenTimeout/2 {
		t.Fatalf("presence joins answered %s apart: one waited for the other", gap)
	}
	t.Logf("presence joins failed after %s and %s", x.at.Sub(start), y.at.Sub(start))
}

// Shutdown returns by its deadline with Redis frozen, with a join in
// flight; the package's goleak check (TestMain) then proves that every
// goroutine of the server and the broker ended.
func TestShutdownBoundedWithFrozenRedis(t *testing.T) {
	t.Parallel()
	rs := testenv.StartRedis(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	br, err := redisbroker.New(redisbroker.Options{URL: rs.URL(), Prefix: "frozen:", Timeout: frozenTimeout,
		CleanupBound: 3 * time.Second, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(Config{}, WithBroker(br), WithPresenceStore(br.Presence()), WithLogger(quiet), WithApp(pusherTestApp))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	defer hs.Close()
	url := "ws" + strings.TrimPrefix(hs.URL, "http")
	member := wstest.Dial(t, url, nil)
	auth, cd := presenceAuth(member.SocketID, "presence-frozen", "ann")
	if f := member.Subscribe("presence-frozen", auth, cd); f.Type != "subscription_succeeded" {
		t.Fatalf("presence subscribe: %s", f.Raw)
	}
	pending := wstest.Dial(t, url, nil)

	rs.Freeze()
	defer rs.Thaw()
	pending.Send(map[string]any{"type": "subscribe", "data": map[string]string{"channel": "frozen-pending"}})
	wstest.Eventually(t, "the join in flight", func() bool {
		_, refs := s.nodeState("frozen-pending")
		return refs == 1
	})
	const budget = 300 * time.Millisecond // below the Redis timeout
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	start := time.Now()
	err = s.Shutdown(ctx)
	took := time.Since(start)
	if took > budget+100*time.Millisecond {
		t.Fatalf("Shutdown took %s with a deadline of %s", took, budget)
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, redisbroker.ErrUnavailable) {
		t.Fatalf("Shutdown = %v", err)
	}
	t.Logf("Shutdown returned after %s: %v", took.Round(time.Millisecond), err)
}

// The member cap holds on the whole cluster: two nodes on one Redis
// count the same members, and a member may join from either node with
// another connection.
func TestPresenceMemberCapAcrossNodes(t *testing.T) {
	t.Parallel()
	nodes, _, _ := redisNodes(t, testenv.Redis(t), 2, 0, Config{MaxPresenceMembers: 2})
	join := func(n *testServer, user string) (*wstest.Client, wstest.Frame) {
		c := n.dial(t, nil)
		auth, cd := presenceAuth(c.SocketID, "presence-capped", user)
		return c, c.Subscribe("presence-capped", auth, cd)
	}
	if _, f := join(nodes[0], "u1"); f.Type != "subscription_succeeded" {
		t.Fatalf("u1: %s", f.Raw)
	}
	if _, f := join(nodes[1], "u2"); f.Type != "subscription_succeeded" {
		t.Fatalf("u2: %s", f.Raw)
	}
	c, f := join(nodes[0], "u3")
	if f.Type != "subscription_error" || f.Code() != CodePresenceFull {
		t.Fatalf("u3 over the cap: %s", f.Raw)
	}
	c.RoundTrip()
	if _, f := join(nodes[1], "u1"); f.Type != "subscription_succeeded" {
		t.Fatalf("u1 again: %s", f.Raw)
	}
}
