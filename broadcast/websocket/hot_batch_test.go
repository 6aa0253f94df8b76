package websocket

import (
	"testing"

	"github.com/velocitykode/velocity/internal/wstest"
)

// The joins of a batch share the replayed frames, each replay still its
// own: every joiner gets exactly what followed its since, without the
// publication that excluded it, then live events, in order.
func TestBatchedReplaysShareFrames(t *testing.T) {
	t.Parallel()
	lb := newLossy()
	ts := newTestServer(t, historyConfig(), WithBroker(lb))
	const n = 6
	clients := make([]*wstest.Client, n)
	for i := range clients {
		clients[i] = ts.dial(t, nil)
	}
	emitSeq(t, ts.b, "orders", 0, 10)
	// Offset 11 goes to everyone but clients[2].
	if err := ts.BroadcastExcept([]string{"orders"}, "Seq", map[string]int{"i": 10}, clients[2].SocketID); err != nil {
		t.Fatal(err)
	}
	res, err := ts.b.History(t.Context(), "orders", 1)
	if err != nil {
		t.Fatal(err)
	}
	epoch := res.Position.Epoch
	<-lb.inHist
	gate := make(chan struct{})
	lb.mu.Lock()
	lb.gate = gate
	lb.mu.Unlock()
	holder := ts.dial(t, nil)
	holder.Send(map[string]any{"type": "subscribe", "data": map[string]string{"channel": "orders"}})
	<-lb.inHist // the channel's executor waits in this read
	for i, c := range clients {
		c.Send(map[string]any{"type": "subscribe", "data": map[string]any{"channel": "orders", "since": map[string]any{"offset": 2 * i, "epoch": epoch}}})
	}
	eventually(t, "the joins batched", func() bool { return ts.batchLen("orders") == n })
	close(gate)
	for i, c := range clients {
		if f := c.Read(); f.Type != "subscription_succeeded" || f.Position().Recovered == nil || !*f.Position().Recovered || f.Position().Offset != 11 {
			t.Fatalf("client %d: %s", i, f.Raw)
		}
	}
	emitSeq(t, ts.b, "orders", 11, 14)
	for i, c := range clients {
		for off := uint64(2*i + 1); off <= 14; off++ {
			if off == 11 && i == 2 {
				continue // excluded
			}
			if g := c.Read(); g.Offset != off || g.Epoch != epoch || seqOfFrame(t, g) != int(off-1) {
				t.Fatalf("client %d: got %s, want offset %d", i, g.Raw, off)
			}
		}
		c.RoundTrip() // and nothing more
	}
}
