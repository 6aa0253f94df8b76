package plugin_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/velocitykode/velocity/plugin"
)

// BROADCAST_REDIS_CLEANUP_BOUND and BROADCAST_NATS_CLEANUP_BOUND read
// alike: 30s by default, a duration or bare seconds, at least 3s.
func TestCleanupBoundConfig(t *testing.T) {
	t.Parallel()
	bounds := map[string]func(plugin.Config) time.Duration{
		"BROADCAST_REDIS_CLEANUP_BOUND": func(c plugin.Config) time.Duration { return c.RedisCleanupBound },
		"BROADCAST_NATS_CLEANUP_BOUND":  func(c plugin.Config) time.Duration { return c.NATSCleanupBound },
	}
	cases := []struct {
		val  string
		want time.Duration // 0: refused
	}{{"", 30 * time.Second}, {"45s", 45 * time.Second}, {"12", 12 * time.Second}, {"3s", 3 * time.Second}, {"2s", 0}, {"soon", 0}}
	for name, get := range bounds {
		for _, tc := range cases {
			cfg, err := plugin.FromLookup(func(k string) (string, bool) {
				if k == name && tc.val != "" {
					return tc.val, true
				}
				return "", false
			})
			switch {
			case tc.want == 0 && (!errors.Is(err, plugin.ErrInvalidConfig) || !strings.Contains(err.Error(), name)):
				t.Errorf("%s=%q: error %v, want one naming %s", name, tc.val, err, name)
			case tc.want != 0 && (err != nil || get(cfg) != tc.want):
				t.Errorf("%s=%q: %v, %v; want %v", name, tc.val, get(cfg), err, tc.want)
			}
		}
	}
}

// The nats driver runs with BROADCAST_NATS_CLEANUP_BOUND: the heartbeat
// bucket it creates keeps a heartbeat for 2/3 of it.
func TestNATSCleanupBoundReachesTheBroker(t *testing.T) {
	t.Parallel()
	env := natsEnv(t)
	env["BROADCAST_NATS_CLEANUP_BOUND"] = "4500ms"
	newStack(t, env)
	nc, err := nats.Connect(env["NATS_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	kv, err := js.KeyValue(ctx, env["BROADCAST_NATS_PREFIX"]+"_beats")
	if err != nil {
		t.Fatal(err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.TTL() != 3*time.Second {
		t.Fatalf("heartbeat bucket MaxAge %s, want 3s (2/3 of 4500ms)", st.TTL())
	}
}
