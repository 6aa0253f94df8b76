package brokertest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast/broker"
)

// historyRetention is what the suite's channels keep.
var historyRetention = broker.Retention{Size: 100, TTL: time.Minute}

func historyEnvelope(channel string, i int, r broker.Retention) *broker.Envelope {
	e := seqEnvelope(channel, i)
	e.Retention = &r
	return e
}

// RunHistory checks the broker.Historian contract. newBroker returns
// brokers that implement broker.Historian; peer, when not nil, returns
// another node of the same cluster as b (a broker on the same back end),
// unstarted.
func RunHistory(t *testing.T, newBroker func(*testing.T) broker.Broker, peer func(t *testing.T, b broker.Broker) broker.Broker) {
	historian := func(t *testing.T, b broker.Broker) broker.Historian {
		t.Helper()
		h, ok := b.(broker.Historian)
		if !ok {
			t.Fatalf("%T is not a broker.Historian", b)
		}
		return h
	}
	t.Run("OffsetsInOrderFromConcurrentPublishers", func(t *testing.T) {
		t.Parallel()
		b, c := started(t, newBroker)
		ctx := t.Context()
		const ch, per = "hist-order", 40
		if err := b.Subscribe(ctx, ch); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for g := range 2 {
			wg.Go(func() {
				for i := range per {
					if err := b.Publish(ctx, historyEnvelope(ch, g*1000+i, historyRetention)); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		got := c.wait(t, ch, 2*per)
		last := map[int]int{0: -1, 1: 999}
		for i, e := range got {
			if e.Position.Offset != uint64(i+1) || e.Position.Epoch == "" || e.Position.Epoch != got[0].Position.Epoch {
				t.Fatalf("delivery %d has position %+v, want offset %d in epoch %q", i, e.Position, i+1, got[0].Position.Epoch)
			}
			n := seqOf(t, e)
			if n <= last[n/1000] {
				t.Fatalf("publisher %d: %d delivered after %d", n/1000, n, last[n/1000])
			}
			last[n/1000] = n
		}
	})
	t.Run("ReadsNewestAndAfter", func(t *testing.T) {
		t.Parallel()
		b, _ := started(t, newBroker)
		h := historian(t, b)
		ctx := t.Context()
		const ch = "hist-read"
		empty, err := h.History(ctx, ch, broker.HistoryQuery{Retention: historyRetention})
		if err != nil {
			t.Fatal(err)
		}
		if empty.Position != (broker.Position{}) || len(empty.Publications) != 0 {
			t.Fatalf("a channel never published to: %+v, want the zero position and nothing", empty)
		}
		var epoch string
		for i := range 50 {
			e := historyEnvelope(ch, i, historyRetention)
			e.Except, e.UserID, e.Conflate = "1.2", "u-7", "k"
			if err := b.Publish(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		cases := []struct {
			name       string
			q          broker.HistoryQuery
			first, num int
		}{
			{"newest 10", broker.HistoryQuery{Limit: 10}, 41, 10},
			{"all", broker.HistoryQuery{}, 1, 50},
			{"position only", broker.HistoryQuery{Limit: -1}, 0, 0},
			{"after 45", broker.HistoryQuery{Recover: true, After: 45}, 46, 5},
			{"after 0, limit 3", broker.HistoryQuery{Recover: true, Limit: 3}, 1, 3},
			{"after the last", broker.HistoryQuery{Recover: true, After: 50}, 0, 0},
		}
		for _, tc := range cases {
			tc.q.Retention = historyRetention
			res, err := h.History(ctx, ch, tc.q)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if epoch == "" {
				epoch = res.Position.Epoch
			}
			if res.Position.Offset != 50 || res.Position.Epoch == "" || res.Position.Epoch != epoch {
				t.Fatalf("%s: position %+v, want 50 in one epoch", tc.name, res.Position)
			}
			if len(res.Publications) != tc.num {
				t.Fatalf("%s: %d publications, want %d", tc.name, len(res.Publications), tc.num)
			}
			for i, p := range res.Publications {
				if p.Position.Offset != uint64(tc.first+i) || seqOf(t, p) != tc.first+i-1 || p.Except != "1.2" || p.UserID != "u-7" || p.Conflate != "k" || p.Event != "Seq" {
					t.Fatalf("%s: publication %d is %+v (offset %d), want offset %d with every field", tc.name, i, p, p.Position.Offset, tc.first+i)
				}
			}
		}
	})
	t.Run("KeepsAtMostSize", func(t *testing.T) {
		t.Parallel()
		b, _ := started(t, newBroker)
		h := historian(t, b)
		ctx := t.Context()
		small := broker.Retention{Size: 10, TTL: time.Minute}
		for i := range 30 {
			if err := b.Publish(ctx, historyEnvelope("hist-size", i, small)); err != nil {
				t.Fatal(err)
			}
		}
		res, err := h.History(ctx, "hist-size", broker.HistoryQuery{Retention: small, Recover: true, After: 5})
		if err != nil {
			t.Fatal(err)
		}
		if res.Position.Offset != 30 || len(res.Publications) != 10 || res.Publications[0].Position.Offset != 21 {
			t.Fatalf("after 30 publications with size 10: position %d, %d kept from offset %v; want 30, 10 from 21",
				res.Position.Offset, len(res.Publications), offsets(res.Publications))
		}
	})
	t.Run("DropsOlderThanTTL", func(t *testing.T) {
		t.Parallel()
		b, _ := started(t, newBroker)
		h := historian(t, b)
		ctx := t.Context()
		short := broker.Retention{Size: 10, TTL: 300 * time.Millisecond}
		long := broker.Retention{Size: 10, TTL: time.Minute}
		for i := range 3 {
			if err := b.Publish(ctx, historyEnvelope("hist-ttl", i, short)); err != nil {
				t.Fatal(err)
			}
		}
		// The time to live is the condition: poll until it has passed.
		deadline := time.Now().Add(Timeout)
		for {
			res, err := h.History(ctx, "hist-ttl", broker.HistoryQuery{Retention: short})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Publications) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("publications older than the TTL still returned: %v", offsets(res.Publications))
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := b.Publish(ctx, historyEnvelope("hist-ttl", 9, long)); err != nil {
			t.Fatal(err)
		}
		res, err := h.History(ctx, "hist-ttl", broker.HistoryQuery{Retention: long})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Publications) == 0 || seqOf(t, res.Publications[len(res.Publications)-1]) != 9 {
			t.Fatalf("a fresh publication is not returned: %v", offsets(res.Publications))
		}
	})
	if peer == nil {
		return
	}
	t.Run("ClusterWideOffsets", func(t *testing.T) {
		t.Parallel()
		a, ca := started(t, newBroker)
		b, cb := started(t, func(t *testing.T) broker.Broker { return peer(t, a) })
		ctx := t.Context()
		const ch = "hist-cluster"
		for _, n := range []broker.Broker{a, b} {
			if err := n.Subscribe(ctx, ch); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 20 {
			from := a
			if i%2 == 1 {
				from = b
			}
			if err := from.Publish(ctx, historyEnvelope(ch, i, historyRetention)); err != nil {
				t.Fatal(err)
			}
		}
		ga, gb := ca.wait(t, ch, 20), cb.wait(t, ch, 20)
		for i := range 20 {
			if ga[i].Position != gb[i].Position || ga[i].Position.Offset != uint64(i+1) || seqOf(t, ga[i]) != seqOf(t, gb[i]) {
				t.Fatalf("delivery %d: node A got %+v (%s), node B %+v (%s); want offset %d on both",
					i, ga[i].Position, ga[i].Data, gb[i].Position, gb[i].Data, i+1)
			}
		}
		res, err := historian(t, b).History(ctx, ch, broker.HistoryQuery{Retention: historyRetention})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Publications) != 20 || res.Position != ga[19].Position {
			t.Fatalf("history read on the other node: %d publications at %+v, want 20 at %+v", len(res.Publications), res.Position, ga[19].Position)
		}
	})
}

func offsets(pubs []*broker.Envelope) string {
	out := make([]uint64, len(pubs))
	for i, p := range pubs {
		out[i] = p.Position.Offset
	}
	return fmt.Sprint(out)
}
