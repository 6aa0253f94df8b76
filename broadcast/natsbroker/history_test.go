package natsbroker

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast"
	ws "github.com/velocitykode/velocity/broadcast/websocket"
	"github.com/velocitykode/velocity/internal/wstest"
)

// A client that drops off node B comes back on node C with its last
// position and gets every event it missed, then the live ones, while a
// publisher on node A keeps emitting: offsets are cluster-wide and
// gapless.
func TestRecoveryOnAnotherNode(t *testing.T) {
	t.Parallel()
	url := natsURL(t)
	prefix := testPrefix(t, url)
	cfg := ws.Config{History: []broadcast.HistoryRule{{Pattern: "orders", Size: 1000, TTL: time.Minute}}}
	a, b, c := newNodeConfig(t, url, prefix, cfg, nil), newNodeConfig(t, url, prefix, cfg, nil), newNodeConfig(t, url, prefix, cfg, nil)
	const ch = "orders"
	emit := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			if err := a.b.Channel(ch).Emit("Seq", map[string]int{"i": i}); err != nil {
				t.Fatalf("emit %d: %v", i, err)
			}
		}
	}
	expect := func(cl *wstest.Client, from, to int, off uint64, epoch string) uint64 {
		t.Helper()
		for i := from; i < to; i++ {
			f := cl.Read()
			var d struct{ I int }
			if err := json.Unmarshal(f.Data, &d); err != nil || f.Type != "Seq" || d.I != i || f.Offset != off || f.Epoch != epoch {
				t.Fatalf("event %d: got %s, want offset %d in %q", i, f.Raw, off, epoch)
			}
			off++
		}
		return off - 1
	}
	c1 := b.dial(t, "")
	c1.Join(ch)
	emit(0, 5)
	f0 := c1.Read()
	epoch := f0.Epoch
	if f0.Offset != 1 || epoch == "" {
		t.Fatalf("first event: %s", f0.Raw)
	}
	last := expect(c1, 1, 5, 2, epoch)
	_ = c1.WS.Close()
	emit(5, 105)

	live := wstest.StartPublisher(200*time.Microsecond, func(i int) error {
		return a.b.Channel(ch).Emit("Seq", map[string]int{"i": 105 + i})
	})
	defer live.Stop()
	c2 := c.dial(t, "")
	c2.Send(map[string]any{"type": "subscribe", "data": map[string]any{"channel": ch, "since": map[string]any{"offset": last, "epoch": epoch}}})
	f := c2.Read()
	if p := f.Position(); f.Type != "subscription_succeeded" || p.Recovered == nil || !*p.Recovered || p.Epoch != epoch {
		t.Fatalf("subscribe with since: %s", f.Raw)
	}
	off := expect(c2, 5, 155, last+1, epoch)
	acked, failed := live.Stop()
	if len(failed) > 0 {
		t.Fatalf("%d publishes failed", len(failed))
	}
	expect(c2, 155, 105+len(acked), off+1, epoch)
	c2.RoundTrip() // and nothing more
	res, err := b.srv.History(t.Context(), ch, 10)
	if err != nil || res.Position.Offset != uint64(105+len(acked)) || len(res.Publications) != 10 {
		t.Fatalf("History on node B = %d publications at %+v, %v", len(res.Publications), res.Position, err)
	}
}
