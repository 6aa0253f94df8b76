package brokertest

import (
	"encoding/json"
	"testing"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
)

// RunPresence checks the broker.PresenceStore contract.
func RunPresence(t *testing.T, newStore func(*testing.T) broker.PresenceStore) {
	member := func(id, name string) broadcast.Member {
		return broadcast.Member{UserID: id, UserInfo: json.RawMessage(`{"name":"` + name + `"}`)}
	}
	ids := func(ms []broadcast.Member) (out []string) {
		for _, m := range ms {
			out = append(out, m.UserID)
		}
		return out
	}
	t.Run("PerUserMembership", func(t *testing.T) {
		p := newStore(t)
		ctx := t.Context()
		const ch = "presence-room"
		var last uint64
		checkVersion := func(v uint64) {
			t.Helper()
			if v != 0 && v <= last {
				t.Fatalf("presence version %d after %d: versions must grow", v, last)
			}
			if v != 0 {
				last = v
			}
		}
		first, ms, v, err := p.Join(ctx, ch, "1.1", member("b", "Bob"))
		if err != nil || !first || len(ms) != 1 {
			t.Fatalf("first join: first=%v members=%v err=%v", first, ids(ms), err)
		}
		checkVersion(v)
		first, ms, v, err = p.Join(ctx, ch, "1.2", member("a", "Ann"))
		if err != nil || !first || len(ms) != 2 || ids(ms)[0] != "a" {
			t.Fatalf("second user: first=%v members=%v err=%v", first, ids(ms), err)
		}
		checkVersion(v)
		// Bob's second tab: not a new member; its info is the newest.
		first, ms, _, err = p.Join(ctx, ch, "1.3", member("b", "Bobby"))
		if err != nil || first || len(ms) != 2 || string(ms[1].UserInfo) != `{"name":"Bobby"}` {
			t.Fatalf("second tab: first=%v members=%v err=%v", first, ms, err)
		}
		lastLeft, _, err := p.Leave(ctx, ch, "1.1", "b")
		if err != nil || lastLeft {
			t.Fatalf("closing one of two tabs: last=%v err=%v", lastLeft, err)
		}
		lastLeft, v, err = p.Leave(ctx, ch, "1.3", "b")
		if err != nil || !lastLeft {
			t.Fatalf("closing the last tab: last=%v err=%v", lastLeft, err)
		}
		checkVersion(v)
		ms, err = p.Members(ctx, ch)
		if err != nil || len(ms) != 1 || ms[0].UserID != "a" || string(ms[0].UserInfo) != `{"name":"Ann"}` {
			t.Fatalf("members after Bob left: %v err=%v", ms, err)
		}
		if lastLeft, _, err = p.Leave(ctx, ch, "1.2", "a"); err != nil || !lastLeft {
			t.Fatalf("Ann leaves: last=%v err=%v", lastLeft, err)
		}
		if ms, err = p.Members(ctx, ch); err != nil || len(ms) != 0 {
			t.Fatalf("members of an empty channel: %v err=%v", ms, err)
		}
	})
	t.Run("LeaveUnknownIsHarmless", func(t *testing.T) {
		p := newStore(t)
		ctx := t.Context()
		if lastLeft, _, err := p.Leave(ctx, "presence-none", "9.9", "ghost"); err != nil || lastLeft {
			t.Fatalf("leave of a stranger: last=%v err=%v", lastLeft, err)
		}
		if _, _, _, err := p.Join(ctx, "presence-one", "1.1", member("a", "Ann")); err != nil {
			t.Fatal(err)
		}
		if lastLeft, _, err := p.Leave(ctx, "presence-one", "2.2", "a"); err != nil || lastLeft {
			t.Fatalf("leave of another socket of a member: last=%v err=%v", lastLeft, err)
		}
		if ms, err := p.Members(ctx, "presence-one"); err != nil || len(ms) != 1 {
			t.Fatalf("members: %v err=%v", ms, err)
		}
	})
	t.Run("ChannelsAreSeparate", func(t *testing.T) {
		p := newStore(t)
		ctx := t.Context()
		if _, _, _, err := p.Join(ctx, "presence-x", "1.1", member("a", "Ann")); err != nil {
			t.Fatal(err)
		}
		first, ms, _, err := p.Join(ctx, "presence-y", "1.1", member("a", "Ann"))
		if err != nil || !first || len(ms) != 1 {
			t.Fatalf("same user, other channel: first=%v members=%v err=%v", first, ids(ms), err)
		}
	})
}

// RunRegistry checks the broker.ClientRegistry contract.
func RunRegistry(t *testing.T, newRegistry func(*testing.T) broker.ClientRegistry) {
	t.Run("AddListRemove", func(t *testing.T) {
		r := newRegistry(t)
		ctx := t.Context()
		for _, id := range []string{"3.1", "1.1", "2.1"} {
			if err := r.AddClient(ctx, "orders", id); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.AddClient(ctx, "other", "9.9"); err != nil {
			t.Fatal(err)
		}
		got, err := r.Clients(ctx, "orders")
		if err != nil || len(got) != 3 || got[0] != "1.1" || got[2] != "3.1" {
			t.Fatalf("Clients = %v, %v; want sorted [1.1 2.1 3.1]", got, err)
		}
		if err := r.RemoveClient(ctx, "orders", "2.1"); err != nil {
			t.Fatal(err)
		}
		if got, err = r.Clients(ctx, "orders"); err != nil || len(got) != 2 {
			t.Fatalf("after remove: %v, %v", got, err)
		}
		if got, err = r.Clients(ctx, "nobody"); err != nil || len(got) != 0 {
			t.Fatalf("empty channel: %v, %v", got, err)
		}
	})
}
