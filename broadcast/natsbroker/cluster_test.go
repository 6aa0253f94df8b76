package natsbroker

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/velocitykode/velocity/internal/wstest"
)

func TestPublicDeliveryAcrossThreeNodes(t *testing.T) {
	t.Parallel()
	ns := nodes(t, 3, nil)
	b, c := ns[1].dial(t, ""), ns[2].dial(t, "")
	for _, cl := range []*wstest.Client{b, c} {
		subscribe(t, cl, "orders")
		subscribe(t, cl, "notifications")
	}
	if err := ns[0].b.Channel("orders").Emit("order.shipped", map[string]any{"order_id": 12345}); err != nil {
		t.Fatal(err)
	}
	for _, cl := range []*wstest.Client{b, c} {
		f := cl.Expect("order.shipped")
		if f.Channel != "orders" || string(f.Data) != `{"order_id":12345}` {
			t.Fatalf("frame %s", f.Raw)
		}
	}
	if err := ns[0].b.Channel("orders", "notifications").Emit("both", 1); err != nil {
		t.Fatal(err)
	}
	for _, cl := range []*wstest.Client{b, c} {
		got := []string{cl.Expect("both").Channel, cl.Expect("both").Channel}
		slices.Sort(got)
		if !slices.Equal(got, []string{"notifications", "orders"}) {
			t.Fatalf("multi-channel emit reached %v", got)
		}
	}
}

// Channel names with dots (subject separators in NATS) reach exactly
// their own subscribers.
func TestDottedChannelsStayApart(t *testing.T) {
	t.Parallel()
	ns := nodes(t, 2, nil)
	chans := []string{"orders", "orders.eu", "orders.eu.1", "eu.1"}
	subs := make([]*wstest.Client, len(chans))
	for i, ch := range chans {
		subs[i] = ns[1].dial(t, "")
		subscribe(t, subs[i], ch)
	}
	for _, ch := range chans {
		if err := ns[0].b.Channel(ch).Emit("ev", ch); err != nil {
			t.Fatal(err)
		}
	}
	for i, ch := range chans {
		if f := subs[i].Expect("ev"); f.Channel != ch || string(f.Data) != `"`+ch+`"` {
			t.Fatalf("subscriber of %s got %s", ch, f.Raw)
		}
		marker(t, ns[0], subs[i], ch) // nothing of the other channels
	}
}

func TestPrivateDeliveryAndToOthersAcrossNodes(t *testing.T) {
	t.Parallel()
	ns := nodes(t, 3, nil)
	a, b := ns[0].dial(t, "alice"), ns[1].dial(t, "bob")
	subscribe(t, a, "private-chat")
	subscribe(t, b, "private-chat")
	if err := ns[2].b.Private("chat").ToOthers(b.SocketID).Emit("said", "hi"); err != nil {
		t.Fatal(err)
	}
	if f := a.Expect("said"); f.Channel != "private-chat" || string(f.Data) != `"hi"` {
		t.Fatalf("alice got %s", f.Raw)
	}
	marker(t, ns[2], b, "private-chat") // b was skipped
	a.Expect("marker")
	b.Send(`{"type":"client-typing","channel":"private-chat","data":{"typing":true}}`)
	if f := a.Expect("client-typing"); string(f.Data) != `{"typing":true}` {
		t.Fatalf("whisper %s", f.Raw)
	}
	marker(t, ns[2], b, "private-chat") // no echo to the sender
}

func TestGetClientsAcrossNodes(t *testing.T) {
	t.Parallel()
	ns := nodes(t, 2, nil)
	a, b, c := ns[0].dial(t, ""), ns[1].dial(t, ""), ns[1].dial(t, "")
	for _, cl := range []*wstest.Client{a, b, c} {
		subscribe(t, cl, "room")
	}
	want := []string{a.SocketID, b.SocketID, c.SocketID}
	slices.Sort(want)
	for _, n := range ns {
		eventually(t, 5*time.Second, "GetClients = "+strings.Join(want, ","), func() bool {
			return slices.Equal(n.b.GetClients("room"), want)
		})
	}
	c.Send(`{"type":"unsubscribe","data":{"channel":"room"}}`)
	c.RoundTrip()
	want = slices.DeleteFunc(want, func(s string) bool { return s == c.SocketID })
	eventually(t, 5*time.Second, "GetClients without "+c.SocketID, func() bool {
		return slices.Equal(ns[0].b.GetClients("room"), want)
	})
	if got := ns[0].b.GetClients("nobody"); len(got) != 0 {
		t.Fatalf("GetClients(nobody) = %v", got)
	}
}

// Presence is not available on NATS yet: a presence subscription is
// refused with 4500, never served with one process's members.
func TestPresenceRefused(t *testing.T) {
	t.Parallel()
	ns := nodes(t, 1, nil)
	c := ns[0].dial(t, "alice")
	f := c.Subscribe("presence-room", "", "")
	if f.Type != "subscription_error" || f.Code() != 4500 {
		t.Fatalf("presence subscribe answered %s", f.Raw)
	}
	eventually(t, 5*time.Second, "refusal logged", func() bool { return ns[0].logs.contains(ErrNoPresence.Error()) })
	if _, err := (NoPresence{}).Members(t.Context(), "presence-room"); !errors.Is(err, ErrNoPresence) {
		t.Fatalf("Members = %v", err)
	}
}
