//go:build unix

package natsbroker

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/velocitykode/velocity/internal/testenv"
	"github.com/velocitykode/velocity/internal/wstest"
)

// smallPayload is the max_payload of the NATS the limit tests start, so
// that a channel outgrows one value with a few hundred subscribers.
const smallPayload = 2048

// A node's subscribers of one channel outgrow the server's max_payload:
// another node still lists every one of them, and stops listing them
// when they leave.
func TestClientsPastMaxPayload(t *testing.T) {
	t.Parallel()
	srv := testenv.StartNATSConfig(t, fmt.Sprintf("max_payload: %d", smallPayload))
	prefix := testPrefix(t, srv.URL())
	a := newNode(t, srv.URL(), prefix, nil)
	b := newNode(t, srv.URL(), prefix, nil)
	const n = 300 // about 7 KB of socket ids
	var want []string
	clients := make([]*wstest.Client, n)
	for i := range clients {
		clients[i] = a.dial(t, "")
		clients[i].Join("crowd")
		want = append(want, clients[i].SocketID)
	}
	slices.Sort(want)
	wstest.Eventually(t, "the other node to list every subscriber", func() bool {
		return slices.Equal(b.b.GetClients("crowd"), want)
	})
	for _, c := range clients[:n-1] {
		c.Send(`{"type":"unsubscribe","data":{"channel":"crowd"}}`)
		c.RoundTrip()
	}
	wstest.Eventually(t, "the other node to list the one subscriber left", func() bool {
		return slices.Equal(b.b.GetClients("crowd"), []string{clients[n-1].SocketID})
	})
	// The list shrank to one chunk: no other is left behind.
	a.br.reg.lock("crowd")() // no write under way
	extra, err := listKeys(context.Background(), a.br.reg.kv().clients, socketsKey(channelToken("crowd"), a.br.NodeID())+".>")
	if err != nil || len(extra) != 0 {
		t.Fatalf("chunks left past the first: %v, %v", extra, err)
	}
	if a.logs.Contains("registry write failed") {
		t.Fatalf("registry writes failed:\n%s", a.logs)
	}
}

// A presence channel's state reaches the server's max_payload: the join
// that would pass it is refused with 4411, on any node; the members
// admitted stay complete on every node, and a departure makes room again.
func TestPresencePastMaxPayload(t *testing.T) {
	t.Parallel()
	srv := testenv.StartNATSConfig(t, fmt.Sprintf("max_payload: %d", smallPayload))
	prefix := testPrefix(t, srv.URL())
	ns := []*node{newNode(t, srv.URL(), prefix, nil), newNode(t, srv.URL(), prefix, nil)}
	const ch = "presence-crowd"
	var admitted []string
	var joined []*wstest.Client
	refused := 0
	for i := 0; refused < 3; i++ {
		if i > 200 {
			t.Fatalf("%d users joined, none refused", len(admitted))
		}
		user := fmt.Sprintf("user%03d", i)
		c := ns[i%2].dial(t, user)
		switch f := c.Subscribe(ch, "", ""); {
		case f.Type == "subscription_succeeded":
			if refused > 0 {
				t.Fatalf("%s joined after a refusal: %s", user, f.Raw)
			}
			admitted = append(admitted, user)
			joined = append(joined, c)
		case f.Code() == 4411:
			refused++
		default:
			t.Fatalf("%s: %s", user, f.Raw)
		}
	}
	if len(admitted) < 5 {
		t.Fatalf("only %d members fit in %d bytes", len(admitted), smallPayload)
	}
	for _, n := range ns {
		if got := memberIDs(t, n); !slices.Equal(got, admitted) {
			t.Fatalf("node %s lists %v, want %v", n.br.NodeID(), got, admitted)
		}
	}
	// One member leaves: a new user fits again.
	_ = joined[0].WS.Close()
	wstest.Eventually(t, admitted[0]+" to leave", func() bool {
		return !slices.Contains(memberIDs(t, ns[1]), admitted[0])
	})
	c := ns[1].dial(t, "late")
	if f := c.Subscribe(ch, "", ""); f.Type != "subscription_succeeded" {
		t.Fatalf("a join after a departure: %s", f.Raw)
	}
	want := append(slices.Clone(admitted[1:]), "late")
	slices.Sort(want)
	if got := memberIDs(t, ns[0]); !slices.Equal(got, want) {
		t.Fatalf("after the departure: %v, want %v", got, want)
	}
	for _, n := range ns {
		if n.logs.Contains("presence join failed") || n.logs.Contains("maximum payload") {
			t.Fatalf("node %s:\n%s", n.br.NodeID(), n.logs)
		}
	}
}

// memberIDs returns the user ids of the members of presence-crowd as n
// sees them.
func memberIDs(t *testing.T, n *node) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ms, err := n.br.Presence().Members(ctx, "presence-crowd")
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.UserID
	}
	return ids
}

// A dead node's subscribers of a channel past max_payload are reaped
// whole: the survivor stops listing them and no chunk of them is left.
func TestDeadNodeChunksReaped(t *testing.T) {
	t.Parallel()
	srv := testenv.StartNATSConfig(t, fmt.Sprintf("max_payload: %d", smallPayload))
	prefix := testPrefix(t, srv.URL())
	opts := func() Options {
		return Options{URL: srv.URL(), Prefix: prefix, CleanupBound: time.Second, Logger: (&testenv.Buffer{}).Logger()}
	}
	victim, err := New(opts())
	if err != nil {
		t.Fatal(err)
	}
	survivor, err := New(opts())
	if err != nil {
		t.Fatal(err)
	}
	started(t, survivor)
	started(t, victim)
	ctx := context.Background()
	var want []string
	for i := range 300 {
		id := fmt.Sprintf("%d.%d", 1000000+i, i)
		want = append(want, id)
		if err := victim.AddClient(ctx, "crowd", id); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(want)
	wstest.Eventually(t, "the victim's subscribers listed", func() bool {
		got, _ := survivor.Clients(ctx, "crowd")
		return slices.Equal(got, want)
	})
	chunks := func() int {
		keys, err := listKeys(ctx, survivor.reg.kv().clients, socketsKey(channelToken("crowd"), victim.NodeID())+".>")
		if err != nil {
			t.Fatal(err)
		}
		return len(keys)
	}
	if n := chunks(); n == 0 {
		t.Fatal("the victim's subscribers fit in one value: the test proves nothing")
	}
	victim.Conn().Close() // no clean-up, no more heartbeats
	wstest.Eventually(t, "the victim's subscribers reaped", func() bool {
		got, err := survivor.Clients(ctx, "crowd")
		return err == nil && len(got) == 0 && chunks() == 0
	})
}
