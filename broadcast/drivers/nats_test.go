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
	"go.uber.org/goleak"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/natsbroker"
	ws "github.com/velocitykode/velocity/broadcast/websocket"
	"github.com/velocitykode/velocity/internal/testenv"
	"github.com/velocitykode/velocity/internal/wstest"
)

func TestNewNATSDriverBadInput(t *testing.T) {
	defer goleak.VerifyNone(t)
	url := testenv.NATS(t)
	cases := []struct {
		name string
		cfg  ws.Config
		opts natsbroker.Options
		want string
	}{
		{name: "bad URL", opts: natsbroker.Options{URL: "nats//nowhere"}, want: `NATS_URL`},
		{name: "unreachable", opts: natsbroker.Options{URL: "nats://127.0.0.1:1", Timeout: 200 * time.Millisecond}, want: `cannot reach NATS at "nats://127.0.0.1:1" (NATS_URL)`},
		{name: "bad server config", cfg: ws.Config{Path: "nope"}, opts: natsbroker.Options{URL: url}, want: "Path"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewNATSDriver(tc.cfg, tc.opts)
			if err == nil {
				_ = s.Shutdown(context.Background())
				t.Fatal("NewNATSDriver succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q lacks %q", err, tc.want)
			}
		})
	}
}

func TestNATSDriverTwoProcessesBehaveAsOne(t *testing.T) {
	defer goleak.VerifyNone(t)
	url := testenv.NATS(t)
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	prefix := "vbtest_drivers_" + hex.EncodeToString(rnd[:])
	opts := natsbroker.Options{URL: url, Prefix: prefix}
	cfg := ws.Config{History: []broadcast.HistoryRule{{Pattern: "orders", Size: 10, TTL: time.Minute}}}
	a, err := NewNATSDriver(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewNATSDriver(cfg, opts)
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
	// A graceful shutdown leaves nothing of the nodes in NATS (the
	// channel's history stays, within its retention).
	if keys := natsKeys(t, url, prefix); len(keys) != 0 {
		t.Fatalf("keys left after shutdown: %v", keys)
	}
}

// natsKeys lists the keys of prefix's buckets and deletes the buckets.
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
