package drivers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/natsbroker"
	"github.com/velocitykode/velocity/broadcast/redisbroker"
	ws "github.com/velocitykode/velocity/broadcast/websocket"
	"github.com/velocitykode/velocity/internal/testenv"
	"github.com/velocitykode/velocity/internal/wstest"
)

// engine is a distributed driver under test: how to build it on a back
// end's URL with a key prefix, and what the back end still holds of a
// prefix (clearing it).
type engine struct {
	name     string
	url      func(testing.TB) string
	prefix   func(random string) string
	driver   func(cfg ws.Config, url, prefix string, timeout time.Duration) (*ws.Server, error)
	left     func(t *testing.T, url, prefix string) []string
	badURL   string // unparsable
	deadURL  string // nothing listens
	urlVar   string // the variable errors name
	unreachd string // the error for deadURL
}

var engines = []engine{
	{
		name:   "redis",
		url:    func(t testing.TB) string { return testenv.Redis(t) },
		prefix: func(r string) string { return "vbtest:drivers:" + r + ":" },
		driver: func(cfg ws.Config, url, prefix string, timeout time.Duration) (*ws.Server, error) {
			return NewRedisDriver(cfg, redisbroker.Options{URL: url, Prefix: prefix, Timeout: timeout})
		},
		left:   redisKeys,
		badURL: "redis//nowhere", deadURL: "redis://127.0.0.1:1/0", urlVar: "REDIS_URL",
		unreachd: `cannot reach Redis at "redis://127.0.0.1:1/0" (REDIS_URL)`,
	},
	{
		name:   "nats",
		url:    func(t testing.TB) string { return testenv.NATS(t) },
		prefix: func(r string) string { return "vbtest_drivers_" + r },
		driver: func(cfg ws.Config, url, prefix string, timeout time.Duration) (*ws.Server, error) {
			return NewNATSDriver(cfg, natsbroker.Options{URL: url, Prefix: prefix, Timeout: timeout})
		},
		left:   natsKeys,
		badURL: "nats//nowhere", deadURL: "nats://127.0.0.1:1", urlVar: "NATS_URL",
		unreachd: `cannot reach NATS at "nats://127.0.0.1:1" (NATS_URL)`,
	},
}

func TestNewDriverBadInput(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			defer goleak.VerifyNone(t)
			url := e.url(t)
			cases := []struct {
				name, url, want string
				cfg             ws.Config
			}{
				{name: "bad URL", url: e.badURL, want: e.urlVar},
				{name: "unreachable", url: e.deadURL, want: e.unreachd},
				{name: "bad server config", url: url, cfg: ws.Config{Path: "nope"}, want: "Path"},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					s, err := e.driver(tc.cfg, tc.url, e.prefix("bad"), 200*time.Millisecond)
					if err == nil {
						_ = s.Shutdown(context.Background())
						t.Fatal("the driver was built")
					}
					if !strings.Contains(err.Error(), tc.want) {
						t.Fatalf("error %q lacks %q", err, tc.want)
					}
				})
			}
		})
	}
}

// Two processes on one back end: an emit on one reaches a subscriber of
// the other with its history position, GetClients sees across, and a
// graceful shutdown leaves nothing of the nodes behind.
func TestDriverTwoProcessesBehaveAsOne(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			defer goleak.VerifyNone(t)
			url := e.url(t)
			var rnd [6]byte
			_, _ = rand.Read(rnd[:])
			prefix := e.prefix(hex.EncodeToString(rnd[:]))
			cfg := ws.Config{History: []broadcast.HistoryRule{{Pattern: "orders", Size: 10, TTL: time.Minute}}}
			a, err := e.driver(cfg, url, prefix, 0)
			if err != nil {
				t.Fatal(err)
			}
			b, err := e.driver(cfg, url, prefix, 0)
			if err != nil {
				t.Fatal(err)
			}
			hs := httptest.NewServer(b)
			c := wstest.Dial(t, "ws"+strings.TrimPrefix(hs.URL, "http"), nil)
			if f := c.Subscribe("orders", "", ""); f.Type != "subscription_succeeded" {
				t.Fatalf("got %s", f.Raw)
			}
			if err := broadcast.New(a).Channel("orders").Emit("OrderShipped", map[string]int{"id": 7}); err != nil {
				t.Fatal(err)
			}
			if f := c.Read(); f.Type != "OrderShipped" || string(f.Data) != `{"id":7}` || f.Offset != 1 || f.Epoch == "" {
				t.Fatalf("got %s, want the event at offset 1 of the channel's history", f.Raw)
			}
			wstest.Eventually(t, "GetClients on the other process", func() bool {
				ids := broadcast.New(a).GetClients("orders")
				return len(ids) == 1 && ids[0] == c.SocketID
			})
			c.WS.Close()
			for _, s := range []*ws.Server{a, b} {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				if err := s.Shutdown(ctx); err != nil {
					t.Error(err)
				}
				cancel()
			}
			hs.Close()
			if err := broadcast.New(a).Channel("orders").Emit("late", 1); !errors.Is(err, broadcast.ErrClosed) {
				t.Fatalf("emit after shutdown = %v", err)
			}
			if keys := e.left(t, url, prefix); len(keys) != 0 {
				t.Fatalf("left after shutdown: %v", keys)
			}
		})
	}
}

// redisKeys lists prefix's keys other than the channels' history (which
// stays, within its retention) and deletes them all.
func redisKeys(t *testing.T, url, prefix string) []string {
	t.Helper()
	ropts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(ropts)
	defer rc.Close()
	ctx := context.Background()
	keys, err := rc.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range keys {
		if !strings.Contains(k, "}:history") {
			out = append(out, k)
		}
	}
	if len(keys) > 0 {
		rc.Del(ctx, keys...)
	}
	return out
}

// natsKeys lists the keys of prefix's buckets and deletes the buckets and
// the history streams.
func natsKeys(t *testing.T, url, prefix string) []string {
	t.Helper()
	nc, err := nats.Connect(url)
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
	var out []string
	for _, suffix := range []string{"_beats", "_nodes", "_clients", "_presence"} {
		kv, err := js.KeyValue(ctx, prefix+suffix)
		if err != nil {
			t.Fatalf("bucket %s: %v", prefix+suffix, err)
		}
		keys, err := kv.Keys(ctx)
		if err != nil && !errors.Is(err, jetstream.ErrNoKeysFound) {
			t.Fatal(err)
		}
		for _, k := range keys {
			out = append(out, prefix+suffix+"/"+k)
		}
		_ = js.DeleteKeyValue(ctx, prefix+suffix)
	}
	for name := range js.StreamNames(ctx, jetstream.WithStreamListSubject(prefix+".h.>")).Name() {
		_ = js.DeleteStream(ctx, name)
	}
	return out
}
