package brokertest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast/broker"
)

// watchLog records what a Watcher reports.
type watchLog struct {
	mu     sync.Mutex
	seen   []broker.Change
	notify chan struct{}
}

func (l *watchLog) add(c broker.Change) {
	l.mu.Lock()
	l.seen = append(l.seen, c)
	l.mu.Unlock()
	select {
	case l.notify <- struct{}{}:
	default:
	}
}

func (l *watchLog) of(channel string) []broker.ChangeKind {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []broker.ChangeKind
	for _, c := range l.seen {
		if c.Channel == channel {
			out = append(out, c.Kind)
		}
	}
	return out
}

// watched starts b with a Watch log and closes it at cleanup.
func watched(t *testing.T, b broker.Broker) *watchLog {
	t.Helper()
	w, ok := b.(broker.Watcher)
	if !ok {
		t.Fatalf("%T is not a broker.Watcher", b)
	}
	if _, ok := b.(broker.ClientRegistry); !ok {
		t.Fatalf("%T is a Watcher but not a ClientRegistry", b)
	}
	l := &watchLog{notify: make(chan struct{}, 1)}
	w.Watch(l.add)
	c := newCollector()
	if err := b.Start(c.deliver); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return l
}

// RunWatch checks the broker.Watcher contract on two nodes of one
// cluster: newBroker builds an unstarted broker, peer an unstarted one
// sharing its back end.
func RunWatch(t *testing.T, newBroker func(*testing.T) broker.Broker, peer func(t *testing.T, b broker.Broker) broker.Broker) {
	pair := func(t *testing.T) ([2]broker.ClientRegistry, [2]*watchLog) {
		t.Helper()
		a := newBroker(t)
		b := peer(t, a)
		la, lb := watched(t, a), watched(t, b)
		return [2]broker.ClientRegistry{a.(broker.ClientRegistry), b.(broker.ClientRegistry)}, [2]*watchLog{la, lb}
	}
	// until waits for cond, checked whenever either node reports.
	until := func(t *testing.T, logs [2]*watchLog, what string, cond func() bool) {
		t.Helper()
		deadline := time.NewTimer(Timeout)
		defer deadline.Stop()
		for !cond() {
			select {
			case <-logs[0].notify:
			case <-logs[1].notify:
			case <-deadline.C:
				t.Fatalf("%s: not within %s (reported: %v / %v)", what, Timeout, logs[0].seen, logs[1].seen)
			}
		}
	}
	ctx := context.Background()

	t.Run("OccupancyReportedOnceByTheNodeThatMadeIt", func(t *testing.T) {
		t.Parallel()
		regs, logs := pair(t)
		const ch = "watch-occupancy"
		must(t, regs[0].AddClient(ctx, ch, "a1"))
		until(t, logs, "occupied by node 0", func() bool { return len(logs[0].of(ch)) == 1 })
		// A node's registry writes land in order: once a later change of
		// another channel was reported, the earlier ones are done.
		synced := func(n int, mark string) {
			t.Helper()
			must(t, regs[n].AddClient(ctx, mark, "m"))
			until(t, logs, mark, func() bool { return len(logs[n].of(mark)) == 1 })
		}
		must(t, regs[1].AddClient(ctx, ch, "b1"))
		synced(1, ch+"-mark1")
		must(t, regs[0].RemoveClient(ctx, ch, "a1"))
		synced(0, ch+"-mark0")
		must(t, regs[1].RemoveClient(ctx, ch, "b1"))
		until(t, logs, "vacated by node 1", func() bool { return len(logs[1].of(ch)) == 1 })
		if got := logs[0].of(ch); !slices.Equal(got, []broker.ChangeKind{broker.ChannelOccupied}) {
			t.Fatalf("node 0 reported %v", got)
		}
		if got := logs[1].of(ch); !slices.Equal(got, []broker.ChangeKind{broker.ChannelVacated}) {
			t.Fatalf("node 1 reported %v", got)
		}
	})

	t.Run("BriefSubscriptionOccupiesAndVacates", func(t *testing.T) {
		t.Parallel()
		regs, logs := pair(t)
		// Subscribed and gone again before a registry that writes behind
		// got to it: the channel was occupied for a moment all the same.
		for i := range 20 {
			ch := fmt.Sprintf("watch-brief-%d", i)
			must(t, regs[0].AddClient(ctx, ch, "a1"))
			must(t, regs[0].RemoveClient(ctx, ch, "a1"))
		}
		want := []broker.ChangeKind{broker.ChannelOccupied, broker.ChannelVacated}
		until(t, logs, "each brief channel occupied then vacated", func() bool {
			for i := range 20 {
				if len(logs[0].of(fmt.Sprintf("watch-brief-%d", i))) < 2 {
					return false
				}
			}
			return true
		})
		for i := range 20 {
			if got := logs[0].of(fmt.Sprintf("watch-brief-%d", i)); !slices.Equal(got, want) {
				t.Fatalf("channel %d: node 0 reported %v, want %v", i, got, want)
			}
		}
	})

	t.Run("ConcurrentFirstSubscribersOccupyOnce", func(t *testing.T) {
		t.Parallel()
		regs, logs := pair(t)
		const channels = 50
		var wg sync.WaitGroup
		for n := range 2 {
			wg.Go(func() {
				for i := range channels {
					if err := regs[n].AddClient(ctx, fmt.Sprintf("watch-race-%d", i), fmt.Sprintf("s%d", n)); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		count := func(i int) int {
			return len(logs[0].of(fmt.Sprintf("watch-race-%d", i))) + len(logs[1].of(fmt.Sprintf("watch-race-%d", i)))
		}
		until(t, logs, "every channel occupied", func() bool {
			for i := range channels {
				if count(i) == 0 {
					return false
				}
			}
			return true
		})
		// Both nodes' writes are done once each reported a later mark.
		for n := range 2 {
			mark := fmt.Sprintf("watch-race-mark-%d", n)
			must(t, regs[n].AddClient(ctx, mark, "m"))
			until(t, logs, mark, func() bool { return len(logs[n].of(mark)) == 1 })
		}
		for i := range channels {
			if c := count(i); c != 1 {
				t.Fatalf("channel %d reported occupied %d times", i, c)
			}
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
