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
	if g := b.gate; g != nil {
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
	lb.gate = make(chan struct{})
	lb.drop.Store(true)
	emitSeq(t, ts.b, "orders", 2, 3) // offset 2 lost
	lb.drop.Store(false)
	emitSeq(t, ts.b, "orders", 3, 4) // offset 3: a gap; the fill waits in History
	<-lb.inHist
	emitSeq(t, ts.b, "orders", 4, 4+maxParked) // the window fills up
	ts.deliver(broker.New("orders", "Other", json.RawMessage(`{}`)))
	close(lb.gate)
	want := uint64(2)
	for last := uint64(maxParked + 3); want <= last; want++ {
		f := c.Read()
		if f.Offset != want {
			t.Fatalf("got offset %d (%s), want %d: out of order or duplicated", f.Offset, f.Type, want)
		}
	}
	c.RoundTrip() // and nothing more
}
