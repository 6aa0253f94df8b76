//go:build unix

package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/internal/nodetest"
	"github.com/velocitykode/velocity/internal/testenv"
	"github.com/velocitykode/velocity/internal/wstest"
)

// backend is a back-end server of one test's own, which it stops and
// starts again.
type backend struct {
	url   string
	stop  func()
	start func(lose bool) // lose: without the data it held
}

// backendKind starts a back end of an engine's.
type backendKind struct {
	run   func(t *testing.T) backend
	keeps bool // whether it can come back with its data
}

// ownBackends are the engines' back ends, by engine name.
var ownBackends = map[string]backendKind{
	"redis": {run: func(t *testing.T) backend {
		rs := testenv.StartRedis(t)
		return backend{url: rs.URL(), stop: rs.Stop, start: func(bool) { rs.Start() }} // nothing persists
	}},
	"nats": {keeps: true, run: func(t *testing.T) backend {
		ns := testenv.StartNATS(t)
		return backend{url: ns.URL(), stop: ns.Stop, start: func(lose bool) {
			if lose {
				ns.Wipe()
			}
			ns.Start()
		}}
	}},
}

// forEachRestart runs f per engine and per kind of restart it has: with
// its data lost, and kept where the back end persists it.
func forEachRestart(t *testing.T, f func(t *testing.T, e engine, be backend, lose bool)) {
	forEachEngine(t, func(t *testing.T, e engine) {
		kind := ownBackends[e.name]
		losses := []bool{true}
		if kind.keeps {
			losses = append(losses, false)
		}
		for _, lose := range losses {
			name := "DataLost"
			if !lose {
				name = "DataKept"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				f(t, e, kind.run(t), lose)
			})
		}
	})
}

// While the back end is down an emit fails fast and the nodes report
// themselves unhealthy; once it is back they recover without a restart:
// their subscribers are told to resubscribe and do, presence and the
// registry are whole again, and delivery resumes.
func TestBackendRestartDeliveryResumes(t *testing.T) {
	forEachRestart(t, func(t *testing.T, e engine, be backend, lose bool) {
		c := &cluster{e: e, nodeConfig: nodeConfig{url: be.url, prefix: e.prefix(t, be.url), timeout: 500 * time.Millisecond}}
		a, b := c.node(t), c.node(t)
		alice, bob := a.dial(t, "alice"), b.dial(t, "bob")
		bob.Join("presence-lobby")
		alice.Join("presence-lobby")
		bob.Expect("member_added")
		bob.Join("news")
		if err := a.b.Channel("news").Emit("before", 1); err != nil {
			t.Fatal(err)
		}
		bob.Expect("before")

		be.stop()
		start := time.Now()
		if err := a.b.Channel("news").Emit("lost", 1); !errors.Is(err, e.unavailable) {
			t.Fatalf("emit while the back end is down = %v, want %v", err, e.unavailable)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("emit took %s to fail", took)
		}
		for _, n := range []*node{a, b} {
			wstest.EventuallyWithin(t, 5*time.Second, "unhealthy", func() bool { return !n.br.Healthy() })
			if err := n.br.Health(context.Background()); !errors.Is(err, e.unavailable) {
				t.Fatalf("broker Health during the outage = %v, want %v", err, e.unavailable)
			}
			if err := n.srv.Health(context.Background()); err == nil {
				t.Fatal("server Health nil during the outage")
			}
		}
		bob.RoundTrip() // local connections stay up
		alice.RoundTrip()

		be.start(lose)
		for _, n := range []*node{a, b} {
			wstest.EventuallyWithin(t, 10*time.Second, "healthy again", func() bool { return n.srv.Health(context.Background()) == nil })
			wstest.EventuallyWithin(t, 5*time.Second, "recovery logged", func() bool { return strings.Contains(n.logs.String(), "available again") })
			if lose {
				wstest.EventuallyWithin(t, 5*time.Second, "state registered again", func() bool { return strings.Contains(n.logs.String(), e.restartLog) })
			}
		}
		// The subscriptions were interrupted: the subscribers are closed
		// with 4202 and come back, as the clients do.
		nodetest.ExpectResync(t, alice)
		nodetest.ExpectResync(t, bob)
		wstest.EventuallyWithin(t, 5*time.Second, "the closed connections' members gone", func() bool {
			m, err := b.presence.Members(context.Background(), "presence-lobby")
			return err == nil && len(m) == 0
		})
		alice, bob = a.dial(t, "alice"), b.dial(t, "bob")
		bob.Join("presence-lobby")
		if got := memberIDs(t, alice.Join("presence-lobby")); !slices.Equal(got, []string{"alice", "bob"}) {
			t.Fatalf("alice sees %v", got)
		}
		bob.Expect("member_added")
		bob.Join("news")
		if err := a.b.Channel("news").Emit("after", 1); err != nil {
			t.Fatal(err)
		}
		if f := bob.Expect("after"); f.Channel != "news" {
			t.Fatalf("frame %s", f.Raw)
		}
		wstest.EventuallyWithin(t, 5*time.Second, "subscribers registered", func() bool {
			return slices.Equal(a.b.GetClients("news"), []string{bob.SocketID})
		})
		unsubscribe(bob, "presence-lobby")
		if f := alice.Expect("member_removed"); wstest.UserOf(t, f) != "bob" {
			t.Fatalf("alice got %s", f.Raw)
		}
	})
}

// A broker's subscription made before the back end restarted delivers
// after it without a new Subscribe, and the broker was told that the
// channel may have missed messages.
func TestBackendRestartKeepsSubscriptions(t *testing.T) {
	forEachRestart(t, func(t *testing.T, e engine, be backend, lose bool) {
		opts := brokerOptions{URL: be.url, Prefix: e.prefix(t, be.url), Timeout: 500 * time.Millisecond, CleanupBound: defaultBound,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		got := make(chan *broker.Envelope, 16)
		sub, _, err := e.open(opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := sub.Start(func(env *broker.Envelope) { got <- env }); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sub.Close() })
		if err := sub.Subscribe(t.Context(), "kept"); err != nil {
			t.Fatal(err)
		}
		be.stop()
		wstest.EventuallyWithin(t, 5*time.Second, "disconnected", func() bool { return !sub.Healthy() })
		be.start(lose)
		select {
		case env := <-got:
			if env.Event != broker.EventResync || !slices.Equal(env.Channels, []string{"kept"}) {
				t.Fatalf("after the restart: %+v, want a resync of kept", env)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("no resync after the restart")
		}
		pub, _, err := e.open(opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := pub.Start(func(*broker.Envelope) {}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pub.Close() })
		wstest.EventuallyWithin(t, 10*time.Second, "the publisher healthy", func() bool { return pub.Health(t.Context()) == nil })
		if err := pub.Publish(t.Context(), broker.New("kept", "After", json.RawMessage(`1`))); err != nil {
			t.Fatal(err)
		}
		select {
		case env := <-got:
			if env.Event != "After" {
				t.Fatalf("got %+v", env)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the subscription made before the restart delivers nothing after it")
		}
	})
}
