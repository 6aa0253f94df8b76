//go:build unix

package natsbroker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast"
	ws "github.com/velocitykode/velocity/broadcast/websocket"
	"github.com/velocitykode/velocity/internal/nodetest"
	"github.com/velocitykode/velocity/internal/testenv"
	"github.com/velocitykode/velocity/internal/wstest"
)

// outage stops nats, checks that both nodes notice and that an emit
// fails fast, then starts it again and waits until both nodes are
// healthy.
func outage(t *testing.T, ns *testenv.NATSServer, a, b *node) {
	t.Helper()
	ns.Stop()
	start := time.Now()
	err := a.b.Channel("news").Emit("lost", 1)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("emit while NATS is down = %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("emit took %s to fail", took)
	}
	for _, n := range []*node{a, b} {
		wstest.EventuallyWithin(t, 5*time.Second, "unhealthy", func() bool { return !n.br.Healthy() })
		if err := n.br.Health(context.Background()); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Health = %v", err)
		}
		if err := n.srv.Health(context.Background()); err == nil {
			t.Fatal("server Health nil during the outage")
		}
		wstest.EventuallyWithin(t, 5*time.Second, "outage logged", func() bool { return n.logs.Contains("NATS unavailable") })
	}
	ns.Start()
	for _, n := range []*node{a, b} {
		wstest.EventuallyWithin(t, 10*time.Second, "healthy again", func() bool { return n.br.Health(context.Background()) == nil })
		wstest.EventuallyWithin(t, 5*time.Second, "recovery logged", func() bool { return n.logs.Contains("NATS available again") })
	}
}

// TestNATSFrozenTimeoutsAreBounded stops NATS with SIGSTOP: connections
// stay open but nothing answers, so only timeouts can end the calls.
func TestNATSFrozenTimeoutsAreBounded(t *testing.T) {
	t.Parallel()
	ns := testenv.StartNATS(t)
	prefix := testPrefix(t, ns.URL())
	fast := func(o *Options) { o.CleanupBound = 3 * time.Second; o.Timeout = 300 * time.Millisecond }
	a := newNode(t, ns.URL(), prefix, fast)
	ns.Freeze()
	start := time.Now()
	if err := a.b.Channel("news").Emit("lost", 1); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("emit to a frozen NATS = %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("emit took %s to fail with Timeout 300ms", took)
	}
	wstest.EventuallyWithin(t, 10*time.Second, "frozen NATS detected", func() bool { return !a.br.Healthy() })
	ns.Thaw()
	wstest.EventuallyWithin(t, 10*time.Second, "healthy again", func() bool { return a.br.Health(context.Background()) == nil })
	if err := a.b.Channel("news").Emit("after", 1); err != nil {
		t.Fatal(err)
	}
}

// A subscriber of a channel with history is not sent away by an outage:
// its node fills the gap from the stream, which NATS kept; a subscriber
// of a channel without history is told to resubscribe.
func TestNATSRestartHistoryChannelContinues(t *testing.T) {
	t.Parallel()
	ns := testenv.StartNATS(t)
	prefix := testPrefix(t, ns.URL())
	fast := func(o *Options) { o.CleanupBound = 3 * time.Second; o.Timeout = 500 * time.Millisecond }
	cfg := ws.Config{PresenceGracePeriod: -1, History: []broadcast.HistoryRule{{Pattern: "orders", Size: 100, TTL: time.Minute}}}
	a, b := newNodeConfig(t, ns.URL(), prefix, cfg, fast), newNodeConfig(t, ns.URL(), prefix, cfg, fast)
	bob, carol := b.dial(t, "bob"), b.dial(t, "carol")
	bob.Join("news")
	carol.Join("orders")
	if err := a.b.Channel("orders").Emit("Seq", 1); err != nil {
		t.Fatal(err)
	}
	first := carol.Expect("Seq")
	outage(t, ns, a, b)
	nodetest.ExpectResync(t, bob)
	if err := a.b.Channel("orders").Emit("Seq", 2); err != nil {
		t.Fatal(err)
	}
	next := carol.Expect("Seq")
	if next.Offset != first.Offset+1 || next.Epoch != first.Epoch || string(next.Data) != "2" {
		t.Fatalf("after the outage: %s, after %s", next.Raw, first.Raw)
	}
	carol.RoundTrip() // still subscribed, nothing else pending
}
