package redisbroker

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// nodes starts n nodes sharing one Redis and one prefix.
func nodes(t *testing.T, n int, mod func(*Options)) []*node {
	t.Helper()
	url := redisURL(t)
	prefix := testPrefix(t, url)
	out := make([]*node, n)
	for i := range out {
		out[i] = newNode(t, url, prefix, mod)
	}
	return out
}

// marker emits "marker" on channel from n and expects it as c's next
// frame, proving nothing else was pending.
func marker(t *testing.T, n *node, c *client, channel string) {
	t.Helper()
	if err := n.b.Channel(channel).Emit("marker", 0); err != nil {
		t.Fatal(err)
	}
	if f := c.expect("marker"); f.Channel != channel {
		t.Fatalf("marker on %s", f.raw)
	}
}

func TestPublicDeliveryAcrossThreeNodes(t *testing.T) {
	t.Parallel()
	ns := nodes(t, 3, nil)
	b, c := ns[1].dial(t, ""), ns[2].dial(t, "")
	for _, cl := range []*client{b, c} {
		cl.subscribe("orders")
		cl.subscribe("notifications")
	}
	if err := ns[0].b.Channel("orders").Emit("order.shipped", map[string]any{"order_id": 12345}); err != nil {
		t.Fatal(err)
	}
	for _, cl := range []*client{b, c} {
		f := cl.expect("order.shipped")
		if f.Channel != "orders" || string(f.Data) != `{"order_id":12345}` {
			t.Fatalf("frame %s", f.raw)
		}
	}
	if err := ns[0].b.Channel("orders", "notifications").Emit("both", 1); err != nil {
		t.Fatal(err)
	}
	for _, cl := range []*client{b, c} {
		got := []string{cl.expect("both").Channel, cl.expect("both").Channel}
		slices.Sort(got)
		if !slices.Equal(got, []string{"notifications", "orders"}) {
			t.Fatalf("multi-channel emit reached %v", got)
		}
	}
}

func TestPrivateDeliveryAcrossNodes(t *testing.T) {
	t.Parallel()
	ns := nodes(t, 2, nil)
	alice := ns[1].dial(t, "alice")
	alice.subscribe("private-orders.1")
	anon := ns[1].dial(t, "")
	anon.send(`{"type":"subscribe","data":{"channel":"private-orders.1"}}`)
	anon.expect("subscription_error")
	if err := ns[0].b.Private("orders.1").Emit("paid", "x"); err != nil {
		t.Fatal(err)
	}
	if f := alice.expect("paid"); f.Channel != "private-orders.1" || string(f.Data) != `"x"` {
		t.Fatalf("frame %s", f.raw)
	}
	anon.quiet()
}

func TestPresenceAcrossNodes(t *testing.T) {
	t.Parallel()
	ns := nodes(t, 3, nil)
	const ch = "presence-room"
	a1 := ns[0].dial(t, "alice")
	if got := members(t, a1.subscribe(ch)); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("alice alone sees %v", got)
	}
	b1 := ns[1].dial(t, "bob")
	if got := members(t, b1.subscribe(ch)); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Fatalf("bob sees %v", got)
	}
	if f := a1.expect("member_added"); userOf(t, f) != "bob" {
		t.Fatalf("alice got %s", f.raw)
	}
	// alice's second connection, on another node: no new member.
	a2 := ns[1].dial(t, "alice")
	if got := members(t, a2.subscribe(ch)); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Fatalf("alice's 2nd connection sees %v", got)
	}
	// An emit from the third node reaches all three connections.
	if err := ns[2].b.Presence("room").Emit("hello", 1); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{a1, b1, a2} {
		c.expect("hello") // and no member_added for alice's 2nd connection
	}
	// alice leaves node A but is still on B: still a member.
	a1.unsubscribe(ch)
	a1.quiet()
	marker(t, ns[2], b1, ch)
	if got, err := ns[2].br.Presence().Members(t.Context(), ch); err != nil || len(got) != 2 {
		t.Fatalf("members after one of alice's leaves = %v, %v", got, err)
	}
	// Her last connection closes: bob sees her go.
	a2.ws.Close()
	if f := b1.expect("member_removed"); userOf(t, f) != "alice" {
		t.Fatalf("bob got %s", f.raw)
	}
	got, err := ns[0].br.Presence().Members(t.Context(), ch)
	if err != nil || len(got) != 1 || got[0].UserID != "bob" || string(got[0].UserInfo) != `{"name":"user bob"}` {
		t.Fatalf("members = %+v, %v", got, err)
	}
}

func TestToOthersAndClientEventsAcrossNodes(t *testing.T) {
	t.Parallel()
	ns := nodes(t, 3, nil)
	a, b := ns[0].dial(t, "alice"), ns[1].dial(t, "bob")
	a.subscribe("private-chat")
	b.subscribe("private-chat")
	if err := ns[2].b.Private("chat").ToOthers(b.socketID).Emit("said", "hi"); err != nil {
		t.Fatal(err)
	}
	a.expect("said")
	marker(t, ns[2], b, "private-chat") // b was skipped
	a.expect("marker")
	b.send(`{"type":"client-typing","channel":"private-chat","data":{"typing":true}}`)
	if f := a.expect("client-typing"); string(f.Data) != `{"typing":true}` {
		t.Fatalf("whisper %s", f.raw)
	}
	marker(t, ns[2], b, "private-chat") // no echo to the sender
}

func TestGetClientsAcrossNodes(t *testing.T) {
	t.Parallel()
	ns := nodes(t, 2, nil)
	a, b, c := ns[0].dial(t, ""), ns[1].dial(t, ""), ns[1].dial(t, "")
	for _, cl := range []*client{a, b, c} {
		cl.subscribe("room")
	}
	want := []string{a.socketID, b.socketID, c.socketID}
	slices.Sort(want)
	// The server records a subscriber just after queuing its
	// subscription_succeeded, so the last one may lag a moment.
	for _, n := range ns {
		eventually(t, 5*time.Second, "GetClients = "+strings.Join(want, ","), func() bool {
			return slices.Equal(n.b.GetClients("room"), want)
		})
	}
	c.unsubscribe("room")
	c.quiet() // unsubscribe is processed before the ping
	want = slices.DeleteFunc(want, func(s string) bool { return s == c.socketID })
	// The registry writes behind: another node sees the change within a
	// round trip.
	eventually(t, 5*time.Second, "GetClients without "+c.socketID, func() bool {
		return slices.Equal(ns[0].b.GetClients("room"), want)
	})
	if got := ns[0].b.GetClients("nobody"); len(got) != 0 {
		t.Fatalf("GetClients(nobody) = %v", got)
	}
}
