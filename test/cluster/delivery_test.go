package cluster_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/velocitykode/velocity/internal/wstest"
)

// An emit on one node reaches the subscribers of the others, also on
// two channels at once.
func TestPublicDeliveryAcrossNodes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		for _, n := range []int{2, 3} {
			t.Run(fmt.Sprintf("%dnodes", n), func(t *testing.T) {
				t.Parallel()
				publicDelivery(t, newCluster(t, e).nodes(t, n))
			})
		}
	})
}

// publicDelivery emits from ns[0] to subscribers on every other node.
func publicDelivery(t *testing.T, ns []*node) {
	var subs []*wstest.Client
	for _, n := range ns[1:] {
		c := n.dial(t, "")
		c.Join("orders")
		c.Join("notifications")
		subs = append(subs, c)
	}
	if err := ns[0].b.Channel("orders").Emit("order.shipped", map[string]any{"order_id": 12345}); err != nil {
		t.Fatal(err)
	}
	for _, c := range subs {
		f := c.Expect("order.shipped")
		if f.Channel != "orders" || string(f.Data) != `{"order_id":12345}` {
			t.Fatalf("frame %s", f.Raw)
		}
	}
	if err := ns[0].b.Channel("orders", "notifications").Emit("both", 1); err != nil {
		t.Fatal(err)
	}
	for _, c := range subs {
		got := []string{c.Expect("both").Channel, c.Expect("both").Channel}
		slices.Sort(got)
		if !slices.Equal(got, []string{"notifications", "orders"}) {
			t.Fatalf("multi-channel emit reached %v", got)
		}
		c.RoundTrip() // once each
	}
}

// Channel names with dots (subject separators in NATS) reach exactly
// their own subscribers.
func TestDottedChannelsStayApart(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ns := newCluster(t, e).nodes(t, 2)
		chans := []string{"orders", "orders.eu", "orders.eu.1", "eu.1", "orders-eu.1", "orders_eu"}
		subs := make([]*wstest.Client, len(chans))
		for i, ch := range chans {
			subs[i] = ns[1].dial(t, "")
			subs[i].Join(ch)
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
			marker(t, ns[0], ch, subs[i]) // nothing of the other channels
		}
	})
}

// A private channel's emit reaches its authorized subscriber on another
// node; an anonymous connection is refused it.
func TestPrivateDeliveryAcrossNodes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ns := newCluster(t, e).nodes(t, 2)
		alice := ns[1].dial(t, "alice")
		alice.Join("private-orders.1")
		anon := ns[1].dial(t, "")
		if f := anon.Subscribe("private-orders.1", "", ""); f.Type != "subscription_error" {
			t.Fatalf("anonymous subscribe: %s", f.Raw)
		}
		if err := ns[0].b.Private("orders.1").Emit("paid", "x"); err != nil {
			t.Fatal(err)
		}
		if f := alice.Expect("paid"); f.Channel != "private-orders.1" || string(f.Data) != `"x"` {
			t.Fatalf("frame %s", f.Raw)
		}
		anon.RoundTrip()
	})
}

// ToOthers skips the named connection of another node, and a client
// event reaches the other nodes' subscribers but not its sender.
func TestToOthersAndClientEventsAcrossNodes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ns := newCluster(t, e).nodes(t, 3)
		a, b := ns[0].dial(t, "alice"), ns[1].dial(t, "bob")
		a.Join("private-chat")
		b.Join("private-chat")
		if err := ns[2].b.Private("chat").ToOthers(b.SocketID).Emit("said", "hi"); err != nil {
			t.Fatal(err)
		}
		if f := a.Expect("said"); f.Channel != "private-chat" || string(f.Data) != `"hi"` {
			t.Fatalf("alice got %s", f.Raw)
		}
		marker(t, ns[2], "private-chat", b, a) // b was skipped
		b.Send(`{"type":"client-typing","channel":"private-chat","data":{"typing":true}}`)
		if f := a.Expect("client-typing"); string(f.Data) != `{"typing":true}` {
			t.Fatalf("whisper %s", f.Raw)
		}
		marker(t, ns[2], "private-chat", b, a) // no echo to the sender
	})
}

// GetClients lists the subscribers of every node, on every node, and a
// leave on one node reaches the others.
func TestGetClientsAcrossNodes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ns := newCluster(t, e).nodes(t, 2)
		a, b, c := ns[0].dial(t, ""), ns[1].dial(t, ""), ns[1].dial(t, "")
		for _, cl := range []*wstest.Client{a, b, c} {
			cl.Join("room")
		}
		want := []string{a.SocketID, b.SocketID, c.SocketID}
		slices.Sort(want)
		// The server records a subscriber just after queuing its
		// subscription_succeeded, and the registry writes behind.
		for _, n := range ns {
			wstest.EventuallyWithin(t, 5*time.Second, "GetClients = "+strings.Join(want, ","), func() bool {
				return slices.Equal(n.b.GetClients("room"), want)
			})
		}
		unsubscribe(c, "room")
		c.RoundTrip()
		want = slices.DeleteFunc(want, func(s string) bool { return s == c.SocketID })
		wstest.EventuallyWithin(t, 5*time.Second, "GetClients without "+c.SocketID, func() bool {
			return slices.Equal(ns[0].b.GetClients("room"), want)
		})
		if got := ns[0].b.GetClients("nobody"); len(got) != 0 {
			t.Fatalf("GetClients(nobody) = %v", got)
		}
	})
}
