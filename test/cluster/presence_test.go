package cluster_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/velocitykode/velocity/internal/wstest"
)

// Presence is cluster-wide: a member's connections on several nodes make
// one member, added once and removed when the last one leaves.
func TestPresenceAcrossNodes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ns := newCluster(t, e).nodes(t, 3)
		const ch = "presence-room"
		a1 := ns[0].dial(t, "alice")
		if got := memberIDs(t, a1.Join(ch)); !slices.Equal(got, []string{"alice"}) {
			t.Fatalf("alice alone sees %v", got)
		}
		b1 := ns[1].dial(t, "bob")
		if got := memberIDs(t, b1.Join(ch)); !slices.Equal(got, []string{"alice", "bob"}) {
			t.Fatalf("bob sees %v", got)
		}
		if f := a1.Expect("member_added"); wstest.UserOf(t, f) != "bob" {
			t.Fatalf("alice got %s", f.Raw)
		}
		// alice's second connection, on another node: no new member.
		a2 := ns[1].dial(t, "alice")
		if got := memberIDs(t, a2.Join(ch)); !slices.Equal(got, []string{"alice", "bob"}) {
			t.Fatalf("alice's 2nd connection sees %v", got)
		}
		// An emit from the third node reaches all three connections,
		// and nothing came before it (no member_added for alice's 2nd
		// connection).
		if err := ns[2].b.Presence("room").Emit("hello", 1); err != nil {
			t.Fatal(err)
		}
		for _, c := range []*wstest.Client{a1, b1, a2} {
			c.Expect("hello")
		}
		// alice leaves node A but is still on B: still a member.
		unsubscribe(a1, ch)
		a1.RoundTrip()
		marker(t, ns[2], ch, b1, a2)
		if got := ns[2].members(t, ch); len(got) != 2 {
			t.Fatalf("members after one of alice's leaves = %v", got)
		}
		// Her last connection closes: bob sees her go.
		a2.WS.Close()
		if f := b1.Expect("member_removed"); wstest.UserOf(t, f) != "alice" {
			t.Fatalf("bob got %s", f.Raw)
		}
		got := ns[0].members(t, ch)
		if len(got) != 1 || got[0].UserID != "bob" || string(got[0].UserInfo) != `{"name":"user bob"}` {
			t.Fatalf("members = %+v", got)
		}
	})
}

// graceCluster starts two nodes with the grace period, a watcher on each
// subscribed to ch, and alice on node A, each watcher having seen her
// join.
func graceCluster(t *testing.T, c *cluster, ch string) (a, b *node, onA, onB, alice *wstest.Client) {
	t.Helper()
	a, b = c.node(t), c.node(t)
	onA, onB = a.dial(t, "watcherA"), b.dial(t, "watcherB")
	onA.Join(ch)
	onB.Join(ch)
	onA.Expect("member_added")
	alice = a.dial(t, "alice")
	alice.Join(ch)
	onA.Expect("member_added")
	onB.Expect("member_added")
	return a, b, onA, onB, alice
}

// A reload that lands on another node within the grace period: the
// other members see no event, then or when the period ends, and the
// user stays a member.
func TestGraceLeaveOnOneNodeRejoinOnAnother(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		const ch = "presence-grace-move"
		c := newCluster(t, e)
		c.grace = 2 * time.Second
		a, b, onA, onB, alice := graceCluster(t, c, ch)
		alice.WS.Close()
		wstest.EventuallyWithin(t, 5*time.Second, "alice's departure held", func() bool { return a.presence.heldCount(ch, "alice") == 1 })

		again := b.dial(t, "alice")
		if got := strings.Join(memberIDs(t, again.Join(ch)), ","); got != "alice,watcherA,watcherB" {
			t.Fatalf("the reloaded page on node B sees %s", got)
		}
		marker(t, b, ch, onA, onB, again)
		// Node A's timer fires and finds the departure cancelled.
		wstest.EventuallyWithin(t, c.grace+5*time.Second, "the grace period over", func() bool { return a.presence.expiredCount(ch, "alice") == 1 })
		marker(t, a, ch, onA, onB, again)
		if got := a.members(t, ch); len(got) != 3 {
			t.Fatalf("members after the period = %v", got)
		}
	})
}

// A user who leaves for good is removed once cluster-wide, after the
// grace period and not before, though the holder's timer and every
// node's sweep race to carry the departure out.
func TestGraceExpiryAnnouncedOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		const ch = "presence-grace-once"
		c := newCluster(t, e)
		c.grace = time.Second
		c.bound = 300 * time.Millisecond // the least: sweeps every 50ms
		a, b, onA, onB, alice := graceCluster(t, c, ch)

		left := time.Now()
		alice.WS.Close()
		for _, w := range []*wstest.Client{onA, onB} {
			f := readWithin(t, w, c.grace+5*time.Second)
			if took := time.Since(left); f.Type != "member_removed" || wstest.UserOf(t, f) != "alice" || took < c.grace {
				t.Fatalf("%s after %s; want alice's member_removed after %s", f.Raw, took, c.grace)
			}
		}
		// The holder's timer has had its turn too by then.
		wstest.EventuallyWithin(t, 5*time.Second, "the holder's expiry", func() bool { return a.presence.expiredCount(ch, "alice") == 1 })
		marker(t, b, ch, onA, onB)
		if got := b.members(t, ch); len(got) != 2 {
			t.Fatalf("members after the period = %v", got)
		}
	})
}
