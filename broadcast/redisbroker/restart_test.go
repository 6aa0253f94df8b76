//go:build unix

package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/velocitykode/velocity/internal/testenv"
)

// redisServer is a redis-server process of a test, on its own port.
type redisServer struct {
	t      testing.TB
	port   int
	args   []string
	cmd    *exec.Cmd
	out    *logBuffer
	exited chan struct{}
}

// startRedis runs redis-server without persistence on a free port, with
// extra arguments.
func startRedis(t testing.TB, extra ...string) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		reason := "redis-server is not installed (run ./scripts/test.sh, which installs it): " + err.Error()
		if testenv.Require() {
			t.Fatal(reason)
		}
		t.Skip(reason)
	}
	s := &redisServer{t: t, port: freePort(t)}
	s.args = append([]string{bin, "--port", fmt.Sprint(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no"}, extra...)
	s.start()
	t.Cleanup(s.stop)
	return s
}

// freePort returns a free port p below 55536 whose cluster bus port
// p+10000 is free too.
func freePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		p := 20000 + rand.IntN(30000)
		a, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		b, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+10000))
		a.Close()
		if err != nil {
			continue
		}
		b.Close()
		return p
	}
	t.Fatal("no free port")
	return 0
}

func (s *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.port) }

func (s *redisServer) start() {
	s.t.Helper()
	s.out = &logBuffer{}
	s.cmd = exec.Command(s.args[0], s.args[1:]...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	exited := make(chan struct{})
	s.exited = exited
	go func(cmd *exec.Cmd) { _ = cmd.Wait(); close(exited) }(s.cmd)
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", s.port), MaxRetries: -1})
	defer c.Close()
	eventually(s.t, 10*time.Second, "redis-server answering", func() bool {
		select {
		case <-exited:
			s.out.mu.Lock()
			defer s.out.mu.Unlock()
			s.t.Fatalf("redis-server exited: %s", s.out.buf.String())
		default:
		}
		return c.Ping(context.Background()).Err() == nil
	})
}

// stop ends the server and waits for it.
func (s *redisServer) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGCONT) // in case a test froze it
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

func TestRedisRestartDeliveryResumes(t *testing.T) {
	t.Parallel()
	rs := startRedis(t)
	prefix := testPrefix(t, rs.url())
	fast := func(o *Options) { o.CleanupBound = 3 * time.Second; o.Timeout = 500 * time.Millisecond }
	a, b := newNode(t, rs.url(), prefix, fast), newNode(t, rs.url(), prefix, fast)
	alice, bob := a.dial(t, "alice"), b.dial(t, "bob")
	bob.subscribe("presence-lobby")
	alice.subscribe("presence-lobby")
	bob.expect("member_added")
	bob.subscribe("news")
	if err := a.b.Channel("news").Emit("before", 1); err != nil {
		t.Fatal(err)
	}
	bob.expect("before")

	rs.stop()
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

	rs.start() // empty: no persistence
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
	rs := startRedis(t)
	prefix := testPrefix(t, rs.url())
	fast := func(o *Options) { o.CleanupBound = 3 * time.Second; o.Timeout = 300 * time.Millisecond }
	a, b := newNode(t, rs.url(), prefix, fast), newNode(t, rs.url(), prefix, fast)
	bob := b.dial(t, "bob")
	bob.subscribe("news")

	_ = rs.cmd.Process.Signal(syscall.SIGSTOP)
	start := time.Now()
	if err := a.b.Channel("news").Emit("lost", 1); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("emit to a frozen Redis = %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("emit took %s to fail with Timeout 300ms", took)
	}
	eventually(t, 5*time.Second, "frozen Redis detected", func() bool { return !a.br.Healthy() && !b.br.Healthy() })
	bob.quiet()

	_ = rs.cmd.Process.Signal(syscall.SIGCONT)
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
