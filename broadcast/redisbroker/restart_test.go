//go:build unix

package redisbroker

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/velocitykode/velocity/internal/testenv"
)

func TestRedisRestartDeliveryResumes(t *testing.T) {
	t.Parallel()
	rs := testenv.StartRedis(t)
	prefix := testPrefix(t, rs.URL())
	fast := func(o *Options) { o.CleanupBound = 3 * time.Second; o.Timeout = 500 * time.Millisecond }
	a, b := newNode(t, rs.URL(), prefix, fast), newNode(t, rs.URL(), prefix, fast)
	alice, bob := a.dial(t, "alice"), b.dial(t, "bob")
	bob.subscribe("presence-lobby")
	alice.subscribe("presence-lobby")
	bob.expect("member_added")
	bob.subscribe("news")
	if err := a.b.Channel("news").Emit("before", 1); err != nil {
		t.Fatal(err)
	}
	bob.expect("before")

	rs.Stop()
	start := time.Now()
	err := a.b.Channel("news").Emit("lost", 1)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("emit while Redis is down = %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("emit took %s to fail", took)
	}
	for _, n := range []*node{a, b} {
		eventually(t, 5*time.Second, "unhealthy", func() bool { return !n.br.Healthy() })
		if err := n.br.Health(context.Background()); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Health = %v", err)
		}
		eventually(t, 5*time.Second, "outage logged", func() bool { return n.logs.contains("redis unavailable") })
	}
	bob.quiet() // local connections stay up
	alice.quiet()

	rs.Start() // empty: no persistence
	for _, n := range []*node{a, b} {
		eventually(t, 10*time.Second, "healthy again", func() bool { return n.br.Health(context.Background()) == nil })
		eventually(t, 5*time.Second, "recovery logged", func() bool { return n.logs.contains("redis available again") })
	}
	// Both nodes re-registered what they hold in the empty Redis, and
	// their subscriptions were interrupted: their subscribers are closed
	// with 4202 and come back, as the clients do.
	for _, n := range []*node{a, b} {
		eventually(t, 5*time.Second, "state registered again", func() bool { return n.logs.contains("registering it again") })
	}
	expectResync(t, alice)
	expectResync(t, bob)
	eventually(t, 5*time.Second, "the closed connections' members gone", func() bool {
		m, err := b.br.Presence().Members(context.Background(), "presence-lobby")
		return err == nil && len(m) == 0
	})
	alice, bob = a.dial(t, "alice"), b.dial(t, "bob")
	bob.subscribe("presence-lobby")
	alice.subscribe("presence-lobby")
	bob.expect("member_added")
	bob.subscribe("news")
	if err := a.b.Channel("news").Emit("after", 1); err != nil {
		t.Fatal(err)
	}
	if f := bob.expect("after"); f.Channel != "news" {
		t.Fatalf("frame %s", f.raw)
	}
	eventually(t, 5*time.Second, "subscribers registered", func() bool {
		return slices.Equal(a.b.GetClients("news"), []string{bob.socketID})
	})
	bob.unsubscribe("presence-lobby")
	if f := alice.expect("member_removed"); userOf(t, f) != "bob" {
		t.Fatalf("alice got %s", f.raw)
	}
}

// TestRedisFrozenTimeoutsAreBounded stops Redis with SIGSTOP: connections
// stay open but nothing answers, so only timeouts can end the calls.
func TestRedisFrozenTimeoutsAreBounded(t *testing.T) {
	t.Parallel()
	rs := testenv.StartRedis(t)
	prefix := testPrefix(t, rs.URL())
	fast := func(o *Options) { o.CleanupBound = 3 * time.Second; o.Timeout = 300 * time.Millisecond }
	a, b := newNode(t, rs.URL(), prefix, fast), newNode(t, rs.URL(), prefix, fast)
	bob := b.dial(t, "bob")
	bob.subscribe("news")

	rs.Freeze()
	start := time.Now()
	if err := a.b.Channel("news").Emit("lost", 1); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("emit to a frozen Redis = %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("emit took %s to fail with Timeout 300ms", took)
	}
	eventually(t, 5*time.Second, "frozen Redis detected", func() bool { return !a.br.Healthy() && !b.br.Healthy() })
	bob.quiet()

	rs.Thaw()
	for _, n := range []*node{a, b} {
		eventually(t, 10*time.Second, "healthy again", func() bool { return n.br.Health(context.Background()) == nil })
	}
	// bob is told to resubscribe if B's pub/sub connection was replaced
	// during the freeze; either way, a subscriber gets emits again.
	if err := a.b.Channel("news").Emit("after", 1); err != nil {
		t.Fatal(err)
	}
	if !followsUntil(bob, "after") {
		if !b.logs.contains("subscription was interrupted") {
			t.Fatal("bob's connection ended without an interruption")
		}
		bob = b.dial(t, "bob")
		bob.subscribe("news")
		if err := a.b.Channel("news").Emit("after", 1); err != nil {
			t.Fatal(err)
		}
		bob.waitFor("the emit after the thaw", func(f frame) bool { return f.Type == "after" })
	}
}
