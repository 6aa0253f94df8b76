package websocket

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/internal/wstest"
)

// lossyBroker is the memory broker whose delivery the test controls: it
// can drop deliveries (a broker subscription that loses messages) and
// hold History calls.
type lossyBroker struct {
	mem     *broker.Memory
	deliver func(*broker.Envelope)
	last    *broker.Envelope
	drop    atomic.Bool
	mu      sync.Mutex
	gate    chan struct{} // History waits on it when non-nil
	inHist  chan struct{} // one value per History call
}

func newLossy() *lossyBroker {
	return &lossyBroker{mem: broker.NewMemory(), inHist: make(chan struct{}, 100)}
}

func (b *lossyBroker) Start(d func(*broker.Envelope)) error {
	b.deliver = d
	return b.mem.Start(func(e *broker.Envelope) { b.last = e })
}
func (b *lossyBroker) Publish(ctx context.Context, e *broker.Envelope) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.last = e
	if err := b.mem.Publish(ctx, e); err != nil {
		return err
	}
	if !b.drop.Load() {
		b.deliver(b.last)
	}
	return nil
}
func (b *lossyBroker) Subscribe(context.Context, string) error   { return nil }
func (b *lossyBroker) Unsubscribe(context.Context, string) error { return nil }
func (b *lossyBroker) Close() error                              { return b.mem.Close() }
func (b *lossyBroker) History(ctx context.Context, ch string, q broker.HistoryQuery) (broker.HistoryResult, error) {
	b.inHist <- struct{}{}
	b.mu.Lock()
	g := b.gate
	b.mu.Unlock()
	if g != nil {
		<-g
	}
	return b.mem.History(ctx, ch, q)
}

// A gap the stream no longer holds: the node takes the channel's
// subscribers out of the hub at once (a later publication would make
// their position look complete) and closes them with 4202; their
// resubscription with the last offset they got is answered
// recovered:false.
func TestUnfilledGapStopsDeliveryUntilResubscribe(t *testing.T) {
	t.Parallel()
	lb := newLossy()
	ts := newTestServer(t, Config{History: []broadcast.HistoryRule{{Pattern: "small-*", Size: 3, TTL: time.Minute}}}, WithBroker(lb))
	c := ts.dial(t, nil)
	subscribe(c, "small-x")
	<-lb.inHist
	emitSeq(t, ts.b, "small-x", 1, 2) // offset 1, delivered
	f := c.Read()
	if f.Offset != 1 {
		t.Fatalf("%s", f.Raw)
	}
	lb.drop.Store(true)
	emitSeq(t, ts.b, "small-x", 2, 11) // offsets 2..10 lost on the way
	lb.drop.Store(false)
	emitSeq(t, ts.b, "small-x", 11, 12) // offset 11: a gap; the fill finds 9..11 only
	<-lb.inHist
	eventually(t, "the unfilled gap", func() bool { return ts.Stats().GapsUnfilled == 1 })
	emitSeq(t, ts.b, "small-x", 12, 13) // offset 12: must not reach the old subscriber
	for {
		g, err := c.TryRead()
		if err != nil {
			break // the 4202 close
		}
		if g.Offset > 0 {
			t.Fatalf("after an unfilled gap the old subscriber got %s", g.Raw)
		}
	}
	c2 := ts.dial(t, nil)
	if g := subscribeSince(c2, "small-x", 1, f.Epoch); g.Position().Recovered == nil || *g.Position().Recovered {
		t.Fatalf("resubscribe with since 1: %s, want recovered:false", g.Raw)
	}
}

// A message without a position (a member event, a whisper, a count) that
// finds the join window full does not flush the channel's parked
// publications past the sequencer: every offset arrives once, in order.
func TestWindowOverflowKeepsSequence(t *testing.T) {
	t.Parallel()
	lb := newLossy()
	ts := newTestServer(t, Config{History: []broadcast.HistoryRule{{Pattern: "orders", Size: 10000, TTL: time.Minute}}}, WithBroker(lb))
	c := ts.dial(t, nil)
	subscribe(c, "orders")
	<-lb.inHist
	emitSeq(t, ts.b, "orders", 1, 2) // offset 1
	c.Read()
	lb.mu.Lock()
	lb.gate = make(chan struct{})
	gate := lb.gate
	lb.mu.Unlock()
	lb.drop.Store(true)
	emitSeq(t, ts.b, "orders", 2, 3) // offset 2 lost
	lb.drop.Store(false)
	emitSeq(t, ts.b, "orders", 3, 4) // offset 3: a gap; the fill waits in History
	<-lb.inHist
	emitSeq(t, ts.b, "orders", 4, 4+maxParked) // the window fills up
	ts.deliver(broker.New("orders", "Other", json.RawMessage(`{}`)))
	close(gate)
	want := uint64(2)
	for last := uint64(maxParked + 3); want <= last; want++ {
		f := c.Read()
		if f.Offset != want {
			t.Fatalf("got offset %d (%s), want %d: out of order or duplicated", f.Offset, f.Type, want)
		}
	}
	c.RoundTrip() // and nothing more
}

// Joins that wait for a channel's executor share one stream read: 20
// subscribers come back with their own since while another join's read
// is held, and each gets exactly what it missed, then live events, once
// each, from one read for all of them.
func TestRecoveriesShareOneRead(t *testing.T) {
	t.Parallel()
	lb := newLossy()
	ts := newTestServer(t, historyConfig(), WithBroker(lb))
	emitSeq(t, ts.b, "orders", 0, 30)
	res, err := ts.b.History(t.Context(), "orders", 1)
	if err != nil {
		t.Fatal(err)
	}
	<-lb.inHist
	gate := make(chan struct{})
	lb.mu.Lock()
	lb.gate = gate
	lb.mu.Unlock()
	holder := ts.dial(t, nil)
	holder.Send(map[string]any{"type": "subscribe", "data": map[string]string{"channel": "orders"}})
	<-lb.inHist // the channel's executor waits in this read
	const n = 20
	clients := make([]*wstest.Client, n)
	for i := range clients {
		clients[i] = ts.dial(t, nil)
		clients[i].Send(map[string]any{"type": "subscribe", "data": map[string]any{"channel": "orders", "since": map[string]any{"offset": i, "epoch": res.Position.Epoch}}})
	}
	eventually(t, "the joins batched", func() bool { return ts.batchLen("orders") == n })
	close(gate)
	for i, c := range clients {
		if f := c.Read(); f.Type != "subscription_succeeded" || f.Position().Recovered == nil || !*f.Position().Recovered {
			t.Fatalf("client %d: %s", i, f.Raw)
		}
	}
	if reads := len(lb.inHist); reads != 1 {
		t.Fatalf("%d stream reads for %d joins, want 1", reads, n)
	}
	emitSeq(t, ts.b, "orders", 30, 35)
	for i, c := range clients {
		for off := uint64(i + 1); off <= 35; off++ {
			if g := c.Read(); g.Offset != off || g.Epoch != res.Position.Epoch || seqOfFrame(t, g) != int(off-1) {
				t.Fatalf("client %d: got %s, want offset %d", i, g.Raw, off)
			}
		}
		c.RoundTrip()
	}
}

// batchLen is how many joins wait in ch's batch.
func (s *Server) batchLen(ch string) int {
	i := s.stripe(ch)
	s.stripes.mu[i].Lock()
	defer s.stripes.mu[i].Unlock()
	if st := s.stripes.chans[i][ch]; st != nil {
		return len(st.batch)
	}
	return 0
}
