// Package brokertest is the conformance suite of the broker contract:
// every implementation of broker.Broker, broker.PresenceStore and
// broker.ClientRegistry runs it from its own tests.
//
//	func TestConformance(t *testing.T) {
//		brokertest.RunBroker(t, func(t *testing.T) broker.Broker { return newBroker(t) })
//	}
//
// Factories return a fresh, unstarted instance isolated from every other
// (its own key prefix on a shared server, for example); the suite starts
// and closes brokers itself.
package brokertest

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
)

// Timeout bounds every wait of the suite.
const Timeout = 10 * time.Second

// collector records what a broker delivers, per channel, in order.
type collector struct {
	mu     sync.Mutex
	byChan map[string][]*broker.Envelope
	notify chan struct{}
}

func newCollector() *collector {
	return &collector{byChan: make(map[string][]*broker.Envelope), notify: make(chan struct{}, 1)}
}

func (c *collector) deliver(e *broker.Envelope) {
	c.mu.Lock()
	for _, ch := range e.Channels {
		c.byChan[ch] = append(c.byChan[ch], e)
	}
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// wait returns channel's envelopes once there are at least n.
func (c *collector) wait(t *testing.T, channel string, n int) []*broker.Envelope {
	t.Helper()
	deadline := time.NewTimer(Timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		got := append([]*broker.Envelope(nil), c.byChan[channel]...)
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-c.notify:
		case <-deadline.C:
			t.Fatalf("channel %q: %d envelopes delivered within %s, want %d", channel, len(got), Timeout, n)
		}
	}
}

// started starts b with a fresh collector and closes it at cleanup.
func started(t *testing.T, newBroker func(*testing.T) broker.Broker) (broker.Broker, *collector) {
	t.Helper()
	b := newBroker(t)
	c := newCollector()
	if err := b.Start(c.deliver); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b, c
}

func seqEnvelope(channel string, i int) *broker.Envelope {
	return broker.New(channel, "Seq", json.RawMessage(fmt.Sprintf(`{"i":%d}`, i)))
}

func seqOf(t *testing.T, e *broker.Envelope) int {
	t.Helper()
	var v struct{ I int }
	if err := json.Unmarshal(e.Data, &v); err != nil {
		t.Fatalf("data %q: %v", e.Data, err)
	}
	return v.I
}

// RunBroker checks the broker.Broker contract.
func RunBroker(t *testing.T, newBroker func(*testing.T) broker.Broker) {
	t.Run("EveryFieldArrives", func(t *testing.T) {
		b, c := started(t, newBroker)
		ctx := t.Context()
		if err := b.Subscribe(ctx, "presence-fields"); err != nil {
			t.Fatal(err)
		}
		want := &broker.Envelope{
			Message: broadcast.Message{Channels: []string{"presence-fields"}, Event: "member_added",
				Data: json.RawMessage(`{"user_id":"7","user_info":{"name":"Zoë \"z\""}}`), Except: "123.456"},
			UserID: "user-7", Version: 1<<40 + 3, Epoch: 1 << 39,
		}
		if err := b.Publish(ctx, want); err != nil {
			t.Fatal(err)
		}
		got := c.wait(t, "presence-fields", 1)[0]
		if got.Event != want.Event || string(got.Data) != string(want.Data) || got.Except != want.Except ||
			got.UserID != want.UserID || got.Version != want.Version || got.Epoch != want.Epoch {
			t.Fatalf("delivered %+v, published %+v", got, want)
		}
		keyed := broker.New("presence-fields", "PriceChanged", json.RawMessage(`{"p":1}`))
		keyed.Conflate, keyed.Except = "AAPL", "1.2"
		if err := b.Publish(ctx, keyed); err != nil {
			t.Fatal(err)
		}
		got = c.wait(t, "presence-fields", 2)[1]
		if got.Conflate != "AAPL" || got.Event != "PriceChanged" || got.Except != "1.2" {
			t.Fatalf("delivered %+v, published %+v", got, keyed)
		}
	})
	t.Run("SubscribeReturnsOnceLive", func(t *testing.T) {
		b, c := started(t, newBroker)
		ctx := t.Context()
		for i := range 20 {
			ch := fmt.Sprintf("live-%d", i)
			if err := b.Subscribe(ctx, ch); err != nil {
				t.Fatal(err)
			}
			if err := b.Publish(ctx, seqEnvelope(ch, i)); err != nil {
				t.Fatal(err)
			}
			c.wait(t, ch, 1)
		}
	})
	t.Run("OrderPerChannel", func(t *testing.T) {
		b, c := started(t, newBroker)
		ctx := t.Context()
		if err := b.Subscribe(ctx, "ordered"); err != nil {
			t.Fatal(err)
		}
		const n = 300
		for i := range n {
			if err := b.Publish(ctx, seqEnvelope("ordered", i)); err != nil {
				t.Fatal(err)
			}
		}
		for i, e := range c.wait(t, "ordered", n)[:n] {
			if got := seqOf(t, e); got != i {
				t.Fatalf("envelope %d carries %d", i, got)
			}
		}
	})
	t.Run("OncePerChannel", func(t *testing.T) {
		b, c := started(t, newBroker)
		ctx := t.Context()
		for _, ch := range []string{"multi-a", "multi-b"} {
			if err := b.Subscribe(ctx, ch); err != nil {
				t.Fatal(err)
			}
		}
		both := broker.New("multi-a", "Both", json.RawMessage(`{"i":-1}`))
		both.Channels = []string{"multi-a", "multi-b"}
		if err := b.Publish(ctx, both); err != nil {
			t.Fatal(err)
		}
		// A marker published after it on each channel arrives after it:
		// anything delivered twice would show up before the marker.
		for _, ch := range []string{"multi-a", "multi-b"} {
			if err := b.Publish(ctx, seqEnvelope(ch, 1)); err != nil {
				t.Fatal(err)
			}
		}
		for _, ch := range []string{"multi-a", "multi-b"} {
			got := c.wait(t, ch, 2)
			if len(got) != 2 || got[0].Event != "Both" || seqOf(t, got[1]) != 1 {
				t.Fatalf("%s: got %d envelopes, first %q", ch, len(got), got[0].Event)
			}
		}
	})
	t.Run("ResubscribeDelivers", func(t *testing.T) {
		b, c := started(t, newBroker)
		ctx := t.Context()
		for _, step := range []func() error{
			func() error { return b.Subscribe(ctx, "again") },
			func() error { return b.Unsubscribe(ctx, "again") },
			func() error { return b.Subscribe(ctx, "again") },
			func() error { return b.Publish(ctx, seqEnvelope("again", 0)) },
		} {
			if err := step(); err != nil {
				t.Fatal(err)
			}
		}
		c.wait(t, "again", 1)
	})
	t.Run("ConcurrentPublishers", func(t *testing.T) {
		b, c := started(t, newBroker)
		ctx := t.Context()
		const pubs, each = 4, 50
		for p := range pubs {
			if err := b.Subscribe(ctx, fmt.Sprintf("conc-%d", p)); err != nil {
				t.Fatal(err)
			}
		}
		errs := make(chan error, pubs)
		for p := range pubs {
			go func() {
				for i := range each {
					if err := b.Publish(ctx, seqEnvelope(fmt.Sprintf("conc-%d", p), i)); err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		for range pubs {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		for p := range pubs {
			for i, e := range c.wait(t, fmt.Sprintf("conc-%d", p), each) {
				if got := seqOf(t, e); got != i {
					t.Fatalf("publisher %d: envelope %d carries %d", p, i, got)
				}
			}
		}
	})
	t.Run("StartTwiceFails", func(t *testing.T) {
		b, _ := started(t, newBroker)
		if err := b.Start(func(*broker.Envelope) {}); err == nil {
			t.Fatal("second Start succeeded")
		}
	})
	t.Run("CloseIsIdempotent", func(t *testing.T) {
		b := newBroker(t)
		if err := b.Start(func(*broker.Envelope) {}); err != nil {
			t.Fatal(err)
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if err := b.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if err := b.Publish(t.Context(), seqEnvelope("closed", 0)); err == nil {
			t.Fatal("Publish after Close succeeded")
		}
	})
}
