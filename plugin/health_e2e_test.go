//go:build unix

package plugin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/velocitykode/velocity/internal/testenv"
)

// waitStatus polls path until it answers want, for up to 20 s (a
// reconnection to Redis and the next heartbeat take a few seconds).
func waitStatus(t *testing.T, s *stack, path string, want int) map[string]string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := probe(t, s, path)
		if code == want {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s still answers %d %v, want %d", path, code, body, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Readiness follows the test's own Redis: 503 with a reason while it is
// stopped, 200 again once it is back and the node registered; liveness
// stays 200 throughout, and the compatible /broadcasting/health follows
// Redis too. Once Shutdown began the node is not ready.
func TestReadinessFollowsRedis(t *testing.T) {
	t.Parallel()
	redis := testenv.StartRedis(t)
	s := newStack(t, map[string]string{
		"BROADCAST_DRIVER":              "redis",
		"REDIS_URL":                     redis.URL(),
		"BROADCAST_REDIS_CLEANUP_BOUND": "3s", // a heartbeat about every 0.7 s
		"BROADCAST_METRICS":             "true",
	})
	for _, path := range []string{"/broadcasting/health/live", "/broadcasting/health/ready", "/broadcasting/health"} {
		if code, body := probe(t, s, path); code != http.StatusOK || body["status"] != "ok" {
			t.Fatalf("GET %s with Redis up: %d %v", path, code, body)
		}
	}

	redis.Stop()
	body := waitStatus(t, s, "/broadcasting/health/ready", http.StatusServiceUnavailable)
	if body["status"] != "unavailable" || !strings.Contains(body["reason"], "redis") {
		t.Fatalf("readiness without Redis: %v, want status unavailable and a reason naming redis", body)
	}
	if code, _ := probe(t, s, "/broadcasting/health/live"); code != http.StatusOK {
		t.Fatalf("liveness without Redis: %d, want 200 (the process still serves)", code)
	}
	if code, _ := probe(t, s, "/broadcasting/health"); code != http.StatusServiceUnavailable {
		t.Fatalf("/broadcasting/health without Redis: %d, want 503", code)
	}
	waitRedisUp(t, s, 0)
	// An emit without Redis fails, and is counted as such.
	if err := s.b.Channel("orders").Emit("Lost", 1); err == nil {
		t.Fatal("an emit without Redis succeeded")
	}
	fams := families(t, s.srv.URL+"/metrics")
	if v := value(t, fams, "velocity_publications_total", "outcome", "error"); v != 1 {
		t.Fatalf("failed publications: %v, want 1", v)
	}
	if v := value(t, fams, "velocity_broker_errors_total", "driver", "redis", "op", "publish"); v != 1 {
		t.Fatalf("failed Redis publishes: %v, want 1", v)
	}

	redis.Start()
	waitStatus(t, s, "/broadcasting/health/ready", http.StatusOK)
	waitRedisUp(t, s, 1)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if code, body := probe(t, s, "/broadcasting/health/ready"); code != http.StatusServiceUnavailable || !strings.Contains(body["reason"], "shutting down") {
		t.Fatalf("readiness after Shutdown: %d %v", code, body)
	}
}

// waitRedisUp waits until velocity_redis_up is want.
func waitRedisUp(t *testing.T, s *stack, want float64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := value(t, families(t, s.srv.URL+"/metrics"), "velocity_redis_up")
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("velocity_redis_up = %v, want %v", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
