package websocket

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/velocitykode/velocity/internal/wstest"
)

// readCount reads c's frames until a subscription count of want arrives.
func readCount(t *testing.T, c *wstest.Client, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		f := c.Read()
		if f.Type != "subscription_count" {
			continue
		}
		var d struct {
			N int `json:"subscription_count"`
		}
		if err := json.Unmarshal(f.Data, &d); err != nil || f.Channel != "orders" {
			t.Fatalf("bad subscription_count frame %s", f.Raw)
		}
		if d.N == want {
			return
		}
	}
	t.Fatalf("no subscription_count %d within 5s", want)
}

// With SubscriptionCount, a channel's subscribers on both protocols learn
// its count as it changes; presence channels get none.
func TestSubscriptionCounts(t *testing.T) {
	t.Parallel()
	ps := newPusherServer(t, Config{SubscriptionCount: true, SubscriptionCountInterval: 20 * time.Millisecond})
	a, b := wstest.Dial(t, ps.base+"/ws", nil), wstest.Dial(t, ps.base+"/ws", nil)
	subscribe(a, "orders")
	subscribe(b, "orders")
	p := ps.dialPusher(t)
	p.subscribe("orders", "", "")
	p.expect("pusher_internal:subscription_succeeded")
	readCount(t, a, 3)
	readCount(t, b, 3)
	for {
		m := p.expect("pusher_internal:subscription_count")
		var d struct {
			N int `json:"subscription_count"`
		}
		m.decode(t, &d)
		if d.N == 3 {
			break
		}
	}
	b.Send(map[string]any{"type": "unsubscribe", "data": map[string]string{"channel": "orders"}})
	readCount(t, a, 2)
	p.expect("pusher_internal:subscription_count")

	pres := ps.dialPusher(t)
	pres.join("presence-room", "1", "Ann")
	pres.roundTrip()
}
