//go:build unix

package redisbroker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/velocitykode/velocity/internal/testenv"
	"github.com/velocitykode/velocity/internal/wstest"
)

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
	wstest.EventuallyWithin(t, 5*time.Second, "frozen Redis detected", func() bool { return !a.br.Healthy() && !b.br.Healthy() })
	bob.quiet()

	rs.Thaw()
	for _, n := range []*node{a, b} {
		wstest.EventuallyWithin(t, 10*time.Second, "healthy again", func() bool { return n.br.Health(context.Background()) == nil })
	}
	// bob is told to resubscribe if B's pub/sub connection was replaced
	// during the freeze; either way, a subscriber gets emits again.
	if err := a.b.Channel("news").Emit("after", 1); err != nil {
		t.Fatal(err)
	}
	if !followsUntil(bob, "after") {
		if !b.logs.Contains("subscription was interrupted") {
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
