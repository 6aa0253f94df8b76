package natsbroker

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast"
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

func TestPresenceAcrossNodes(t *testing.T) {
	t.Parallel()
	ns := nodes(t, 3, nil)
	const ch = "presence-room"
	a1 := ns[0].dial(t, "alice")
	if got := members(t, subscribeFrame(t, a1, ch)); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("alice alone sees %v", got)
	}
	b1 := ns[1].dial(t, "bob")
	if got := members(t, subscribeFrame(t, b1, ch)); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Fatalf("bob sees %v", got)
	}
	if f := a1.Expect("member_added"); userOf(t, f) != "bob" {
		t.Fatalf("alice got %s", f.Raw)
	}
	// alice's second connection, on another node: no new member.
	a2 := ns[1].dial(t, "alice")
	if got := members(t, subscribeFrame(t, a2, ch)); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Fatalf("alice's 2nd connection sees %v", got)
	}
	if err := ns[2].b.Presence("room").Emit("hello", 1); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*wstest.Client{a1, b1, a2} {
		c.Expect("hello") // and no member_added for alice's 2nd connection
	}
	// alice leaves node A but is still on B: still a member.
	a1.Send(`{"type":"unsubscribe","data":{"channel":"` + ch + `"}}`)
	a1.RoundTrip()
	marker(t, ns[2], b1, ch)
	if got, err := ns[2].br.Presence().Members(t.Context(), ch); err != nil || len(got) != 2 {
		t.Fatalf("members after one of alice's leaves = %v, %v", got, err)
	}
	// Her last connection closes: bob sees her go.
	a2.WS.Close()
	if f := b1.Expect("member_removed"); userOf(t, f) != "alice" {
		t.Fatalf("bob got %s", f.Raw)
	}
	got, err := ns[0].br.Presence().Members(t.Context(), ch)
	if err != nil || len(got) != 1 || got[0].UserID != "bob" || string(got[0].UserInfo) != `{"name":"user bob"}` {
		t.Fatalf("members = %+v, %v", got, err)
	}
}

// subscribeFrame subscribes c to channel and returns the answer, once the
// server is done with the join.
func subscribeFrame(t *testing.T, c *wstest.Client, channel string) wstest.Frame {
	t.Helper()
	f := c.Subscribe(channel, "", "")
	if f.Type != "subscription_succeeded" {
		t.Fatalf("subscribe %s: %s", channel, f.Raw)
	}
	c.RoundTrip()
	return f
}

// members parses a presence subscription_succeeded frame.
func members(t testing.TB, f wstest.Frame) []string {
	t.Helper()
	var d struct {
		Members []broadcast.Member `json:"members"`
	}
	if err := json.Unmarshal(f.Data, &d); err != nil {
		t.Fatalf("members of %s: %v", f.Raw, err)
	}
	ids := make([]string, len(d.Members))
	for i, m := range d.Members {
		ids[i] = m.UserID
	}
	return ids
}

func userOf(t testing.TB, f wstest.Frame) string {
	t.Helper()
	var d struct {
		UserID string `json:"user_id"`
	}
	if err := json.Unmarshal(f.Data, &d); err != nil {
		t.Fatalf("user of %s: %v", f.Raw, err)
	}
	return d.UserID
}
