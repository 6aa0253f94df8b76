package natsbroker

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/internal/testenv"
	"github.com/velocitykode/velocity/internal/wstest"
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
	survivor, err := New(Options{URL: victim.opts.URL, Prefix: victim.opts.Prefix, CleanupBound: bound, Logger: (&testenv.Buffer{}).Logger()})
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
	wstest.EventuallyWithin(t, 5*time.Second, "the victim's subscribers listed", func() bool {
		a, _ := survivor.Clients(ctx, "doomed")
		b, _ := survivor.Clients(ctx, "shared")
		return slices.Equal(a, []string{"1.1"}) && slices.Equal(b, []string{"1.2", "2.2"})
	})

	victim.Conn().Close() // no clean-up, no more heartbeats
	killed := time.Now()
	wstest.EventuallyWithin(t, bound+2*time.Second, "doomed reported vacated", func() bool {
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

// A dead node's presence members leave: a survivor publishes their
// member_removed within the cleanup bound, and carries out a departure
// the dead node held once its deadline passed.
func TestDeadNodeMembersRemovedWithinBound(t *testing.T) {
	t.Parallel()
	const bound = 3 * time.Second
	url := natsURL(t)
	prefix := testPrefix(t, url)
	fast := func(o *Options) { o.CleanupBound = bound }
	survivor := newNode(t, url, prefix, fast)
	victim, err := New(Options{URL: url, Prefix: prefix, CleanupBound: bound, Logger: (&testenv.Buffer{}).Logger()})
	if err != nil {
		t.Fatal(err)
	}
	started(t, victim)
	const ch = "presence-crash"
	watcher := survivor.dial(t, "watcher")
	watcher.Join(ch)
	ctx := context.Background()
	ghost := func(id string) broadcast.Member {
		return broadcast.Member{UserID: id, UserInfo: json.RawMessage(`{}`)}
	}
	for i, id := range []string{"ghost", "held"} {
		if _, _, _, err := victim.Presence().Join(ctx, ch, fmt.Sprintf("9.%d", i), ghost(id)); err != nil {
			t.Fatal(err)
		}
	}
	until := time.Now().Add(time.Second).Round(time.Microsecond)
	if held, err := victim.Presence().LeaveGrace(ctx, ch, "9.1", "held", until); err != nil || !held {
		t.Fatalf("LeaveGrace = %v, %v", held, err)
	}
	if got, err := survivor.br.Presence().Members(ctx, ch); err != nil || len(got) != 3 {
		t.Fatalf("members before the death = %v, %v", got, err)
	}

	victim.Conn().Close() // no clean-up, no more heartbeats
	killed := time.Now()
	gone := map[string]time.Duration{}
	for len(gone) < 2 {
		f := watcher.Read()
		if f.Type != "member_removed" {
			t.Fatalf("watcher got %s", f.Raw)
		}
		gone[wstest.UserOf(t, f)] = time.Since(killed)
	}
	if d, ok := gone["ghost"]; !ok || d > bound {
		t.Fatalf("ghost removed after %s (bound %s): %v", d, bound, gone)
	}
	// The held departure is carried out by a sweep once overdue by a
	// reaper period, or by the reap of its node, whichever comes first.
	if d, ok := gone["held"]; !ok || d > bound+time.Second {
		t.Fatalf("held removed after %s: %v", d, gone)
	}
	t.Logf("member_removed after the death: %v (bound %s)", gone, bound)
	got, err := survivor.br.Presence().Members(ctx, ch)
	if err != nil || len(got) != 1 || got[0].UserID != "watcher" {
		t.Fatalf("members after the reap = %v, %v", got, err)
	}
	watcher.RoundTrip() // each member_removed came once
}
