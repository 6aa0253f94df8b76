package websocket

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/velocitykode/velocity/broadcast"
)

// hookLog records the lifecycle events a broadcaster's hooks saw, each
// as "kind channel socket user" with empty fields left out.
type hookLog struct {
	mu     sync.Mutex
	events []broadcast.LifecycleEvent
	names  map[string]string // socket id → name used in the lines
}

// recordHooks registers a hook for every kind on b.
func recordHooks(b *broadcast.Broadcaster) *hookLog {
	l := &hookLog{names: map[string]string{}}
	for _, k := range broadcast.LifecycleKinds() {
		b.On(k, func(_ context.Context, e broadcast.LifecycleEvent) {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.events = append(l.events, e)
		})
	}
	return l
}

func (l *hookLog) line(e broadcast.LifecycleEvent) string {
	parts := []string{e.Kind.String()}
	if e.Channel != "" {
		parts = append(parts, e.Channel)
	}
	if e.SocketID != "" {
		name := l.names[e.SocketID]
		if name == "" {
			name = e.SocketID
		}
		parts = append(parts, name)
	}
	if e.UserID != "" {
		parts = append(parts, "user="+e.UserID)
	}
	if e.Kind == broadcast.ClientEvent {
		parts = append(parts, e.Event, string(e.Data))
	}
	return strings.Join(parts, " ")
}

// name makes the socket's events read as name.
func (l *hookLog) name(socketID, name string) {
	l.mu.Lock()
	l.names[socketID] = name
	l.mu.Unlock()
}

func (l *hookLog) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := make([]string, len(l.events))
	for i, e := range l.events {
		lines[i] = l.line(e)
	}
	return lines
}

// waitFor waits until the log holds want's events and checks that it
// holds nothing else and that every two events of one connection or one
// channel came in want's order.
func (l *hookLog) waitFor(t *testing.T, want []string) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d lifecycle events", len(want)), func() bool { return len(l.snapshot()) >= len(want) })
	got := l.snapshot()
	if !sameMultiset(got, want) {
		t.Fatalf("lifecycle events:\n got %q\nwant %q", got, want)
	}
	pos := func(list []string, s string) int { return slices.Index(list, s) }
	for i, a := range want {
		for _, b := range want[i+1:] {
			if related(a, b) && pos(got, a) > pos(got, b) {
				t.Fatalf("%q came after %q:\n got %q", a, b, got)
			}
		}
	}
}

// related reports whether two event lines name the same channel or the
// same connection.
func related(a, b string) bool {
	fa, fb := strings.Fields(a)[1:], strings.Fields(b)[1:]
	for _, x := range fa {
		if !strings.HasPrefix(x, "user=") && slices.Contains(fb, x) {
			return true
		}
	}
	return false
}

func sameMultiset(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// A scripted sequence of connections and subscriptions on one process:
// each hook fires once, and the events of one connection or channel come
// in the order they happened.
func TestLifecycleHooksSequence(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{PresenceGracePeriod: -1}, WithApp(pusherTestApp))
	log := recordHooks(ts.b)

	a := ts.dial(t, nil)
	log.name(a.SocketID, "a")
	subscribe(a, "orders")
	b := ts.dial(t, nil)
	log.name(b.SocketID, "b")
	subscribe(b, "orders")
	auth, cd := presenceAuth(a.SocketID, "presence-room", "alice")
	if f := a.Subscribe("presence-room", auth, cd); f.Type != "subscription_succeeded" {
		t.Fatalf("presence subscribe: %s", f.Raw)
	}
	a.Send(`{"type":"client-typing","channel":"presence-room","data":{"on":true}}`)
	a.Send(`{"type":"unsubscribe","data":{"channel":"orders"}}`)
	a.RoundTrip()
	opened := []string{
		"connection_opened a",
		"channel_occupied orders",
		"subscribed orders a",
		"connection_opened b",
		"subscribed orders b",
		"channel_occupied presence-room",
		"subscribed presence-room a user=alice",
		"member_added presence-room user=alice",
		`client_event presence-room a user=alice client-typing {"on":true}`,
		"unsubscribed orders a",
	}
	log.waitFor(t, opened)

	b.WS.Close()
	a.WS.Close()
	log.waitFor(t, append(opened,
		"unsubscribed orders b",
		"channel_vacated orders",
		"connection_closed b",
		"unsubscribed presence-room a user=alice",
		"member_removed presence-room user=alice",
		"channel_vacated presence-room",
		"connection_closed a",
	))
}

// A hook that blocks holds up only the hooks: deliveries keep flowing,
// and the events beyond the queue are dropped and counted.
func TestLifecycleHookThatBlocks(t *testing.T) {
	t.Parallel()
	b := broadcast.New(nil, broadcast.WithHookQueue(8))
	running, release := make(chan struct{}, 1), make(chan struct{})
	defer close(release)
	b.On(broadcast.Subscribed, func(context.Context, broadcast.LifecycleEvent) {
		select {
		case running <- struct{}{}:
		default:
		}
		<-release
	})
	ts := newTestServer(t, Config{}, WithLifecycle(b))

	sub := ts.dial(t, nil)
	subscribe(sub, "feed")
	<-running // the hook of the first subscription blocks from now on
	for i := range 40 {
		c := ts.dial(t, nil)
		subscribe(c, fmt.Sprintf("ch-%d", i))
	}
	for i := range 100 {
		if err := ts.b.Channel("feed").Emit("tick", map[string]int{"i": i}); err != nil {
			t.Fatal(err)
		}
		if f := sub.Expect("tick"); !strings.Contains(string(f.Data), fmt.Sprintf(`"i":%d`, i)) {
			t.Fatalf("delivery %d: %s", i, f.Raw)
		}
	}
	// Of the 40 later subscriptions, 8 wait and the others were dropped.
	eventually(t, "dropped events counted", func() bool { return b.HookStats().Dropped == 40-8 })
	if st := b.HookStats(); st.Queued != 8 || st.Ran != 1 {
		t.Fatalf("hook stats %+v", st)
	}
}

// A hook that panics is logged and counted; the next events' hooks run.
func TestLifecycleHookPanics(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	got := make(chan string, 4)
	ts.b.On(broadcast.Subscribed, func(_ context.Context, e broadcast.LifecycleEvent) {
		if e.Channel == "boom" {
			panic("hook failed")
		}
		got <- e.Channel
	})
	c := ts.dial(t, nil)
	subscribe(c, "boom")
	subscribe(c, "calm")
	if ch := <-got; ch != "calm" {
		t.Fatalf("hook after the panic saw %q", ch)
	}
	if st := ts.b.HookStats(); st.Panics != 1 {
		t.Fatalf("hook stats %+v", st)
	}
}
