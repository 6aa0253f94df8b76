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

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/redisbroker"
	ws "github.com/velocitykode/velocity/broadcast/websocket"
	"github.com/velocitykode/velocity/internal/testenv"
)

// redisURL is a Redis that answers, or t is skipped (failed under
// VELOCITY_REQUIRE_SERVICES).
func redisURL(t testing.TB) string { return testenv.Redis(t) }

func TestNewRedisDriverBadInput(t *testing.T) {
	defer goleak.VerifyNone(t)
	cases := []struct {
		name string
		cfg  ws.Config
		opts redisbroker.Options
		want string
	}{
		{name: "bad URL", opts: redisbroker.Options{URL: "redis//nowhere"}, want: `REDIS_URL`},
		{name: "unreachable", opts: redisbroker.Options{URL: "redis://127.0.0.1:1/0", Timeout: 200 * time.Millisecond}, want: `cannot reach Redis at "redis://127.0.0.1:1/0" (REDIS_URL)`},
		{name: "bad server config", cfg: ws.Config{Path: "nope"}, opts: redisbroker.Options{URL: redisURL(t)}, want: "Path"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewRedisDriver(tc.cfg, tc.opts)
			if err == nil {
				_ = s.Shutdown(context.Background())
				t.Fatal("NewRedisDriver succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q lacks %q", err, tc.want)
			}
		})
	}
}

func TestRedisDriverTwoProcessesBehaveAsOne(t *testing.T) {
	defer goleak.VerifyNone(t)
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	prefix := "vbtest:drivers:" + hex.EncodeToString(rnd[:]) + ":"
	opts := redisbroker.Options{URL: redisURL(t), Prefix: prefix}
	a, err := NewRedisDriver(ws.Config{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewRedisDriver(ws.Config{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(b)
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	read := func() string {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	read() // connected
	_ = conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","data":{"channel":"orders"}}`))
	if f := read(); !strings.Contains(f, "subscription_succeeded") {
		t.Fatalf("got %s", f)
	}
	if err := broadcast.New(a).Channel("orders").Emit("OrderShipped", map[string]int{"id": 7}); err != nil {
		t.Fatal(err)
	}
	if f := read(); f != `{"type":"OrderShipped","channel":"orders","data":{"id":7}}` {
		t.Fatalf("got %s", f)
	}
	conn.Close()
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
	// A graceful shutdown leaves nothing of the nodes in Redis.
	ropts, _ := redis.ParseURL(redisURL(t))
	rc := redis.NewClient(ropts)
	defer rc.Close()
	keys, err := rc.Keys(context.Background(), prefix+"*").Result()
	if err != nil || len(keys) != 0 {
		t.Fatalf("keys left after shutdown: %v, %v", keys, err)
	}
}
