package natsbroker

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast/broker"
)

// A node that dies without closing (its connection cut, as with kill -9
// or a lost host) leaves GetClients once its heartbeat expires, and a
// survivor removes its entries and reports its channel vacated within
// the cleanup bound.
func TestDeadNodeReapedWithinBound(t *testing.T) {
	t.Parallel()
	const bound = 3 * time.Second
	fast := func(o *Options) { o.CleanupBound = bound }
	victim := newTestBroker(t, fast)
	survivor, err := New(Options{URL: victim.opts.URL, Prefix: victim.opts.Prefix, CleanupBound: bound, Logger: (&logBuffer{}).logger()})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var changes []broker.Change
	survivor.Watch(func(c broker.Change) {
		mu.Lock()
		changes = append(changes, c)
		mu.Unlock()
	})
	started(t, survivor)
	started(t, victim)
	ctx := context.Background()
	if err := victim.AddClient(ctx, "doomed", "1.1"); err != nil {
		t.Fatal(err)
	}
	if err := survivor.AddClient(ctx, "shared", "2.2"); err != nil {
		t.Fatal(err)
	}
	if err := victim.AddClient(ctx, "shared", "1.2"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the victim's subscribers listed", func() bool {
		a, _ := survivor.Clients(ctx, "doomed")
		b, _ := survivor.Clients(ctx, "shared")
		return slices.Equal(a, []string{"1.1"}) && slices.Equal(b, []string{"1.2", "2.2"})
	})

	victim.Conn().Close() // no clean-up, no more heartbeats
	killed := time.Now()
	eventually(t, bound+2*time.Second, "doomed reported vacated", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return vacated(changes, "doomed")
	})
	took := time.Since(killed)
	if took > bound {
		t.Fatalf("vacated %s after the death, bound %s", took, bound)
	}
	t.Logf("vacated %s after the death (bound %s)", took.Round(time.Millisecond), bound)
	for ch, want := range map[string][]string{"doomed": {}, "shared": {"2.2"}} {
		if got, err := survivor.Clients(ctx, ch); err != nil || !slices.Equal(got, want) {
			t.Fatalf("Clients(%s) after the reap = %v, %v; want %v", ch, got, err, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if vacated(changes, "shared") {
		t.Fatalf("shared, still held by the survivor, reported vacated: %v", changes)
	}
}

func vacated(changes []broker.Change, channel string) bool {
	return slices.ContainsFunc(changes, func(c broker.Change) bool {
		return c.Kind == broker.ChannelVacated && c.Channel == channel
	})
}
