package websocket

import (
	"context"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast/signature"
	"github.com/velocitykode/velocity/internal/wstest"
)

// A cache channel gives every new subscriber its last event right after
// the acknowledgement, or a cache miss, on both protocols; its
// subscribers already there get each event once.
func TestCacheChannels(t *testing.T) {
	t.Parallel()
	ps := newPusherServer(t, Config{})
	native := func() *wstest.Client { return wstest.Dial(t, ps.base+"/ws", nil) }

	n := native()
	if f := subscribe(n, "cache-prices"); f.Type != "subscription_succeeded" {
		t.Fatalf("subscribe: %s", f.Raw)
	}
	if f := n.Read(); f.Type != "cache_miss" || f.Channel != "cache-prices" {
		t.Fatalf("first subscriber of an empty cache channel: %s, want cache_miss", f.Raw)
	}
	p := ps.dialPusher(t)
	p.subscribe("cache-prices", "", "")
	p.expect("pusher_internal:subscription_succeeded")
	if m := p.expect("pusher:cache_miss"); m.Channel != "cache-prices" {
		t.Fatalf("pusher cache miss: %s", m.raw)
	}
	for i, price := range []int{100, 101} {
		if err := ps.b.Channel("cache-prices").Emit("PriceChanged", map[string]int{"price": price}); err != nil {
			t.Fatal(err)
		}
		if f := n.Read(); f.Type != "PriceChanged" || f.Offset != uint64(i+1) {
			t.Fatalf("live event %d: %s", i, f.Raw)
		}
		p.expect("PriceChanged")
	}
	// Late subscribers get the last event, then live ones.
	late := native()
	subscribe(late, "cache-prices")
	if f := late.Read(); f.Type != "PriceChanged" || string(f.Data) != `{"price":101}` {
		t.Fatalf("late native subscriber: %s, want the last event", f.Raw)
	}
	lp := ps.dialPusher(t)
	lp.subscribe("cache-prices", "", "")
	lp.expect("pusher_internal:subscription_succeeded")
	if m := lp.expect("PriceChanged"); m.str(t) != `{"price":101}` {
		t.Fatalf("late pusher subscriber: %s", m.raw)
	}
	lp.roundTrip()
	late.RoundTrip()
	n.RoundTrip()

	// Private cache channels are authorized first.
	pc := ps.dialPusher(t)
	pc.subscribe("private-cache-forbidden", signature.ChannelAuth(pusherTestApp, pc.socketID, "private-cache-other", ""), "")
	if m := pc.expect("pusher:subscription_error"); m.raw == "" {
		t.Fatal("no subscription_error")
	}
	pc.roundTrip()
	if st := ps.Stats(); st.CacheMisses != 2 {
		t.Fatalf("cache misses counted %d, want 2", st.CacheMisses)
	}

	event, data, ttl, ok, err := ps.CachedEvent(context.Background(), "cache-prices")
	if err != nil || !ok || event != "PriceChanged" || string(data) != `{"price":101}` || ttl <= 29*time.Minute || ttl > 30*time.Minute {
		t.Fatalf("CachedEvent = %q %s %s %v %v", event, data, ttl, ok, err)
	}
	if _, _, _, ok, _ := ps.CachedEvent(context.Background(), "prices"); ok {
		t.Fatal("a channel that is not a cache channel has a cached event")
	}
}
