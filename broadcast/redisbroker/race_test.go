package redisbroker

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/velocitykode/velocity/internal/wstest"
)

// neededChannels returns the Redis channels the node's partitions keep
// subscribed.
func (b *Broker) neededChannels() []string {
	var out []string
	for _, p := range b.parts {
		p.mu.Lock()
		for ch := range p.needed {
			out = append(out, ch)
		}
		p.mu.Unlock()
	}
	return out
}

// TestSubscribeUnsubscribeRace churns subscriptions to a few channels
// from many connections on two nodes, then checks that both nodes still
// deliver and that the Redis subscriptions match the local subscribers.
func TestSubscribeUnsubscribeRace(t *testing.T) {
	t.Parallel()
	ns := nodes(t, 2, nil)
	const workers, rounds = 12, 15
	channels := []string{"race.0", "race.1", "race.2", "presence-race"}
	clients := make([]*client, workers)
	for i := range clients {
		clients[i] = ns[i%2].dial(t, fmt.Sprintf("u%d", i%5))
	}
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				ch := channels[(i+r)%len(channels)]
				if err := c.trySend(`{"type":"subscribe","data":{"channel":"` + ch + `"}}`); err != nil {
					t.Errorf("client %d: %v", i, err)
					return
				}
				if err := c.trySend(`{"type":"unsubscribe","data":{"channel":"` + ch + `"}}`); err != nil {
					t.Errorf("client %d: %v", i, err)
					return
				}
			}
			if err := c.trySend(`{"type":"ping"}`); err != nil {
				t.Errorf("client %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// Drain each client up to its pong: every subscribe must have worked.
	for i, c := range clients {
		for {
			f, err := c.tryRead(10 * time.Second)
			if err != nil {
				t.Fatalf("client %d: %v", i, err)
			}
			if f.Type == "subscription_error" || f.Type == "error" {
				t.Fatalf("client %d got %s", i, f.raw)
			}
			if f.Type == "pong" {
				break
			}
		}
	}
	// Leaves finish in the background (the server answers the next frame
	// without waiting for the node's unsubscribe or presence change).
	for i, n := range ns {
		wstest.EventuallyWithin(t, 5*time.Second, fmt.Sprintf("node %d unsubscribed from every channel", i), func() bool {
			return len(n.br.neededChannels()) == 0
		})
	}
	rc := rawClient(t, redisURL(t))
	for _, ch := range channels {
		wstest.EventuallyWithin(t, 5*time.Second, "no Redis subscriber of "+ch, func() bool {
			n, err := rc.PubSubNumSub(context.Background(), ns[0].br.keys.pubsub(ch)).Result()
			return err == nil && n[ns[0].br.keys.pubsub(ch)] == 0
		})
		wstest.EventuallyWithin(t, 5*time.Second, "no member of "+ch, func() bool {
			m, err := ns[0].br.Presence().Members(context.Background(), ch)
			return err == nil && len(m) == 0
		})
		wstest.EventuallyWithin(t, 5*time.Second, "no subscriber of "+ch, func() bool {
			return len(ns[1].b.GetClients(ch)) == 0
		})
	}
	// Everyone joins one channel: both nodes deliver to all of them.
	want := make([]string, 0, len(clients))
	for _, c := range clients {
		c.subscribe("race.0")
		want = append(want, c.socketID)
	}
	slices.Sort(want)
	if err := ns[0].b.Channel("race.0").Emit("after", 1); err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		c.expect("after")
	}
	wstest.EventuallyWithin(t, 5*time.Second, "GetClients(race.0) lists every client", func() bool {
		return slices.Equal(ns[1].b.GetClients("race.0"), want)
	})
}
