package broadcast_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast"
)

// Hooks run in the order the events came, each once, and only for the
// kinds they were registered for.
func TestHooksRunInOrder(t *testing.T) {
	t.Parallel()
	b := broadcast.New(nil)
	got := make(chan string, 100)
	b.On(broadcast.ChannelOccupied, func(ctx context.Context, e broadcast.LifecycleEvent) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("hook context has no deadline")
		}
		got <- e.Channel
	})
	if !b.Wants(broadcast.ChannelOccupied) || b.Wants(broadcast.ChannelVacated) {
		t.Fatal("Wants does not follow the registered kinds")
	}
	for i := range 50 {
		b.Notify(broadcast.LifecycleEvent{Kind: broadcast.ChannelOccupied, Channel: fmt.Sprint(i)})
		b.Notify(broadcast.LifecycleEvent{Kind: broadcast.ChannelVacated, Channel: "ignored"})
	}
	for i := range 50 {
		select {
		case ch := <-got:
			if ch != fmt.Sprint(i) {
				t.Fatalf("event %d: got channel %s", i, ch)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("event %d never reached the hook", i)
		}
	}
	if st := b.HookStats(); st.Ran != 50 || st.Dropped != 0 {
		t.Fatalf("hook stats %+v", st)
	}
}

// Kinds have the names Pusher's webhooks use; On ignores what is not a
// kind.
func TestLifecycleKindNames(t *testing.T) {
	t.Parallel()
	want := map[broadcast.LifecycleKind]string{
		broadcast.ChannelOccupied: "channel_occupied", broadcast.ChannelVacated: "channel_vacated",
		broadcast.MemberAdded: "member_added", broadcast.MemberRemoved: "member_removed",
		broadcast.ClientEvent: "client_event", broadcast.CacheMiss: "cache_miss",
		broadcast.SubscriptionCount: "subscription_count",
	}
	for k, name := range want {
		if k.String() != name {
			t.Errorf("%d.String() = %q, want %q", k, k.String(), name)
		}
	}
	if s := broadcast.LifecycleKind(200).String(); s != "unknown" {
		t.Errorf("an unknown kind is %q", s)
	}
	b := broadcast.New(nil)
	b.On(broadcast.LifecycleKind(200), func(context.Context, broadcast.LifecycleEvent) {})
	b.On(broadcast.MemberAdded, nil)
	for _, k := range broadcast.LifecycleKinds() {
		if b.Wants(k) {
			t.Errorf("wants %s with no hook", k)
		}
	}
}

// The function On returns removes the hook, and only it.
func TestHookOff(t *testing.T) {
	t.Parallel()
	b := broadcast.New(nil)
	got := make(chan string, 10)
	off := b.On(broadcast.CacheMiss, func(_ context.Context, e broadcast.LifecycleEvent) { got <- "first " + e.Channel })
	b.On(broadcast.CacheMiss, func(_ context.Context, e broadcast.LifecycleEvent) { got <- "second " + e.Channel })
	off()
	off()
	b.Notify(broadcast.LifecycleEvent{Kind: broadcast.CacheMiss, Channel: "cache-a"})
	if s := <-got; s != "second cache-a" {
		t.Fatalf("got %q", s)
	}
	offAll := b.On(broadcast.Subscribed, func(context.Context, broadcast.LifecycleEvent) {})
	offAll()
	if b.Wants(broadcast.Subscribed) {
		t.Fatal("Wants a kind whose only hook was removed")
	}
}
