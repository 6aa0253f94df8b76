package redisbroker

import (
	"fmt"
	"slices"
	"testing"

	"github.com/velocitykode/velocity/internal/engine"
)

// Two users join a presence channel at the same moment on two nodes. Each
// must learn about the other exactly once: in its member list or by one
// member_added, never both. (member_added travels through Redis and can
// reach the other node after that node's joiner got a list that already
// had the user; the presence version makes the joiner skip it.)
func TestSimultaneousJoinsAcrossNodesAnnounceEachMemberOnce(t *testing.T) {
	t.Parallel()
	ns := nodes(t, 2, nil)
	for i := range 40 {
		ch := fmt.Sprintf("presence-race-%d", i)
		alice, bob := ns[0].dial(t, "alice"), ns[1].dial(t, "bob")
		sub := `{"type":"subscribe","data":{"channel":"` + ch + `"}}`
		alice.send(sub)
		bob.send(sub)
		aList, aAdded := joinAndSettle(t, alice)
		bList, bAdded := joinAndSettle(t, bob)
		// Everything both joins published is in Redis before this marker.
		if err := ns[0].b.Channel(ch).Emit("marker", 0); err != nil {
			t.Fatal(err)
		}
		aAdded = append(aAdded, addedUntilMarker(t, alice)...)
		bAdded = append(bAdded, addedUntilMarker(t, bob)...)
		checkOnce(t, i, "alice", "bob", aList, aAdded)
		checkOnce(t, i, "bob", "alice", bList, bAdded)
		alice.ws.Close()
		bob.ws.Close()
	}
}

// joinAndSettle reads c's subscription reply, then pings: once the pong
// is back the server has finished the join, including publishing c's
// member_added. It returns the member list and the users announced by
// member_added meanwhile.
func joinAndSettle(t *testing.T, c *client) (list, added []string) {
	t.Helper()
	list = members(t, c.expect("subscription_succeeded"))
	c.send(`{"type":"ping"}`)
	return list, addedUntil(t, c, "pong")
}

// addedUntilMarker returns the users announced to c by member_added
// before the "marker" event.
func addedUntilMarker(t *testing.T, c *client) []string { return addedUntil(t, c, "marker") }

// addedUntil reads c's frames up to one of type end and returns the users
// of the member_added frames before it; any other frame fails the test.
func addedUntil(t *testing.T, c *client, end string) (added []string) {
	t.Helper()
	for {
		f := c.waitFor(end, func(frame) bool { return true })
		switch f.Type {
		case end:
			return added
		case "member_added":
			added = append(added, userOf(t, f))
		default:
			t.Fatalf("unexpected %s", f.raw)
		}
	}
}

// twoMembers starts two nodes with alice on the first and bob on the
// second in presence channel ch, alice having seen bob arrive.
func twoMembers(t *testing.T, ch string) (ns []*node, alice, bob *client) {
	t.Helper()
	ns = nodes(t, 2, nil)
	alice = ns[0].dial(t, "alice")
	alice.subscribe(ch)
	bob = ns[1].dial(t, "bob")
	bob.subscribe(ch)
	alice.expect("member_added")
	return ns, alice, bob
}

func checkOnce(t *testing.T, round int, who, other string, list, added []string) {
	t.Helper()
	n := 0
	if slices.Contains(list, other) {
		n++
	}
	for _, u := range added {
		if u == other {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("round %d: %s learned about %s %d times (list %v, member_added %v)", round, who, other, n, list, added)
	}
}

// After Redis lost a channel's presence state, each node writes its
// members again. Subscribers that joined before the loss already know
// them and get no member_added; one that joined after the loss, whose
// list missed them, gets one for each.
func TestRestatedMembersReachOnlyListsThatMissedThem(t *testing.T) {
	t.Parallel()
	const ch = "presence-restate"
	ns, alice, bob := twoMembers(t, ch)

	ctx := t.Context()
	br := ns[0].br
	if err := br.client.Del(ctx, br.keys.channelKeys(ch)...).Err(); err != nil {
		t.Fatal(err)
	}
	carol := ns[1].dial(t, "carol")
	if got := members(t, carol.subscribe(ch)); !slices.Equal(got, []string{"carol"}) {
		t.Fatalf("carol's list after the loss: %v", got)
	}
	for _, n := range ns { // what a node does when it finds its state gone
		if err := n.br.resync(ctx, ch); err != nil {
			t.Fatal(err)
		}
	}
	if err := ns[0].b.Channel(ch).Emit("marker", 0); err != nil {
		t.Fatal(err)
	}
	want := map[*client][]string{
		alice: {"carol"},        // bob is no news to alice
		bob:   {"carol"},        // nor alice to bob
		carol: {"alice", "bob"}, // carol's list had neither
	}
	for c, w := range want {
		got := addedUntilMarker(t, c)
		slices.Sort(got)
		if !slices.Equal(got, w) {
			t.Errorf("%s got member_added for %v, want %v", c.socketID, got, w)
		}
	}
}

// A node taken for dead is reaped (its members announced gone) and then
// writes its members again: that is news to everyone, in the same epoch.
func TestReapedNodeReturningIsAnnouncedToAll(t *testing.T) {
	t.Parallel()
	const ch = "presence-reaped"
	ns, alice, _ := twoMembers(t, ch)

	ctx := t.Context()
	res, err := ns[0].br.syncNode(ctx, ns[1].br.node, ch, nil, nil) // what the reaper does
	if err != nil {
		t.Fatal(err)
	}
	ns[0].br.announce(ctx, ch, engine.Sync{Removed: res.Removed, Version: res.Version})
	if f := alice.expect("member_removed"); userOf(t, f) != "bob" {
		t.Fatalf("alice got %s", f.raw)
	}
	if err := ns[1].br.resync(ctx, ch); err != nil {
		t.Fatal(err)
	}
	if f := alice.expect("member_added"); userOf(t, f) != "bob" {
		t.Fatalf("alice got %s", f.raw)
	}
}
