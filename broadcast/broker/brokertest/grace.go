package brokertest

import (
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
)

// RunGrace checks the broker.GracefulPresence contract: held departures,
// their cancellation by a new join and their one-time expiry.
func RunGrace(t *testing.T, newStore func(*testing.T) broker.GracefulPresence) {
	member := func(id string) broadcast.Member {
		return broadcast.Member{UserID: id, UserInfo: json.RawMessage(`{"name":"` + id + `"}`)}
	}
	ids := func(ms []broadcast.Member) (out []string) {
		for _, m := range ms {
			out = append(out, m.UserID)
		}
		return out
	}
	same := func(ms []broadcast.Member, want ...string) bool {
		got := ids(ms)
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if got[i] != want[i] {
				return false
			}
		}
		return true
	}
	deadline := func(d time.Duration) time.Time { return time.Now().Add(d).Round(time.Microsecond) }

	t.Run("HeldMemberStaysListed", func(t *testing.T) {
		p := newStore(t)
		ctx := t.Context()
		const ch = "presence-grace-held"
		if _, _, _, err := p.Join(ctx, ch, "1.1", member("a")); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := p.Join(ctx, ch, "1.2", member("b")); err != nil {
			t.Fatal(err)
		}
		held, err := p.LeaveGrace(ctx, ch, "1.2", "b", deadline(time.Minute))
		if err != nil || !held {
			t.Fatalf("last connection's leave: held=%v err=%v", held, err)
		}
		if ms, err := p.Members(ctx, ch); err != nil || !same(ms, "a", "b") {
			t.Fatalf("members during the grace: %v err=%v; want a,b", ids(ms), err)
		}
		// A new joiner's list is complete: b is still a member.
		first, ms, _, err := p.Join(ctx, ch, "1.3", member("c"))
		if err != nil || !first || !same(ms, "a", "b", "c") {
			t.Fatalf("joiner during the grace: first=%v members=%v err=%v", first, ids(ms), err)
		}
		// Leaves of unknown sockets, also of the held user, change nothing.
		if held, err := p.LeaveGrace(ctx, ch, "1.2", "b", deadline(time.Minute)); err != nil || held {
			t.Fatalf("second leave of the same socket: held=%v err=%v", held, err)
		}
		if last, _, err := p.Leave(ctx, ch, "9.9", "b"); err != nil || last {
			t.Fatalf("leave of a stranger socket of a held user: last=%v err=%v", last, err)
		}
	})
	t.Run("NotLastConnectionIsNotHeld", func(t *testing.T) {
		p := newStore(t)
		ctx := t.Context()
		const ch = "presence-grace-tabs"
		for _, s := range []string{"1.1", "1.2"} {
			if _, _, _, err := p.Join(ctx, ch, s, member("a")); err != nil {
				t.Fatal(err)
			}
		}
		if held, err := p.LeaveGrace(ctx, ch, "1.1", "a", deadline(time.Minute)); err != nil || held {
			t.Fatalf("one of two tabs: held=%v err=%v", held, err)
		}
		if held, err := p.LeaveGrace(ctx, ch, "1.2", "a", deadline(time.Minute)); err != nil || !held {
			t.Fatalf("the last tab: held=%v err=%v", held, err)
		}
	})
	t.Run("RejoinCancelsDeparture", func(t *testing.T) {
		p := newStore(t)
		ctx := t.Context()
		const ch = "presence-grace-rejoin"
		if _, _, _, err := p.Join(ctx, ch, "1.1", member("a")); err != nil {
			t.Fatal(err)
		}
		_, _, before, err := p.Join(ctx, ch, "1.2", member("b"))
		if err != nil {
			t.Fatal(err)
		}
		until := deadline(time.Minute)
		if held, err := p.LeaveGrace(ctx, ch, "1.2", "b", until); err != nil || !held {
			t.Fatalf("leave: held=%v err=%v", held, err)
		}
		// The reload: a new connection of b, with its newest info.
		b2 := broadcast.Member{UserID: "b", UserInfo: json.RawMessage(`{"name":"b2"}`)}
		first, ms, v, err := p.Join(ctx, ch, "2.1", b2)
		if err != nil || first || !same(ms, "a", "b") {
			t.Fatalf("rejoin within the grace: first=%v members=%v err=%v; want first=false, a,b", first, ids(ms), err)
		}
		if string(ms[1].UserInfo) != `{"name":"b2"}` {
			t.Fatalf("rejoined member info %s, want the newest", ms[1].UserInfo)
		}
		if v != before {
			t.Fatalf("rejoin moved the presence version %d → %d: no membership changed", before, v)
		}
		if removed, _, err := p.ExpireGrace(ctx, ch, "b", until); err != nil || removed {
			t.Fatalf("expiry of a cancelled departure: removed=%v err=%v", removed, err)
		}
		if ms, err := p.Members(ctx, ch); err != nil || !same(ms, "a", "b") {
			t.Fatalf("members after a cancelled expiry: %v err=%v", ids(ms), err)
		}
		// b's new connection is a connection like any other.
		if last, _, err := p.Leave(ctx, ch, "2.1", "b"); err != nil || !last {
			t.Fatalf("plain leave of the rejoined connection: last=%v err=%v", last, err)
		}
	})
	t.Run("ExpiryRemovesOnce", func(t *testing.T) {
		p := newStore(t)
		ctx := t.Context()
		const ch = "presence-grace-expire"
		if _, _, _, err := p.Join(ctx, ch, "1.1", member("a")); err != nil {
			t.Fatal(err)
		}
		_, _, joined, err := p.Join(ctx, ch, "1.2", member("b"))
		if err != nil {
			t.Fatal(err)
		}
		until := deadline(time.Millisecond)
		if held, err := p.LeaveGrace(ctx, ch, "1.2", "b", until); err != nil || !held {
			t.Fatalf("leave: held=%v err=%v", held, err)
		}
		if removed, _, err := p.ExpireGrace(ctx, ch, "b", until.Add(time.Microsecond)); err != nil || removed {
			t.Fatalf("expiry with another deadline: removed=%v err=%v", removed, err)
		}
		if removed, _, err := p.ExpireGrace(ctx, ch, "a", until); err != nil || removed {
			t.Fatalf("expiry of a connected member: removed=%v err=%v", removed, err)
		}
		removed, v, err := p.ExpireGrace(ctx, ch, "b", until)
		if err != nil || !removed {
			t.Fatalf("expiry: removed=%v err=%v", removed, err)
		}
		if v != 0 && v <= joined {
			t.Fatalf("expiry version %d after %d: versions must grow", v, joined)
		}
		if removed, _, err := p.ExpireGrace(ctx, ch, "b", until); err != nil || removed {
			t.Fatalf("second expiry: removed=%v err=%v", removed, err)
		}
		if ms, err := p.Members(ctx, ch); err != nil || !same(ms, "a") {
			t.Fatalf("members after the expiry: %v err=%v; want a", ids(ms), err)
		}
		first, ms, _, err := p.Join(ctx, ch, "3.1", member("b"))
		if err != nil || !first || !same(ms, "a", "b") {
			t.Fatalf("join after the expiry: first=%v members=%v err=%v; want a new member", first, ids(ms), err)
		}
	})
	t.Run("LaterDepartureReplacesEarlier", func(t *testing.T) {
		p := newStore(t)
		ctx := t.Context()
		const ch = "presence-grace-again"
		if _, _, _, err := p.Join(ctx, ch, "1.1", member("b")); err != nil {
			t.Fatal(err)
		}
		u1 := deadline(time.Minute)
		if held, err := p.LeaveGrace(ctx, ch, "1.1", "b", u1); err != nil || !held {
			t.Fatalf("first leave: held=%v err=%v", held, err)
		}
		if _, _, _, err := p.Join(ctx, ch, "1.2", member("b")); err != nil {
			t.Fatal(err)
		}
		u2 := u1.Add(time.Second)
		if held, err := p.LeaveGrace(ctx, ch, "1.2", "b", u2); err != nil || !held {
			t.Fatalf("second leave: held=%v err=%v", held, err)
		}
		if removed, _, err := p.ExpireGrace(ctx, ch, "b", u1); err != nil || removed {
			t.Fatalf("the first, replaced departure's expiry: removed=%v err=%v", removed, err)
		}
		if removed, _, err := p.ExpireGrace(ctx, ch, "b", u2); err != nil || !removed {
			t.Fatalf("the second departure's expiry: removed=%v err=%v", removed, err)
		}
		if ms, err := p.Members(ctx, ch); err != nil || len(ms) != 0 {
			t.Fatalf("members of the emptied channel: %v err=%v", ids(ms), err)
		}
	})
	t.Run("ConcurrentExpiriesRemoveOnce", func(t *testing.T) {
		p := newStore(t)
		ctx := t.Context()
		const ch = "presence-grace-race"
		if _, _, _, err := p.Join(ctx, ch, "1.1", member("b")); err != nil {
			t.Fatal(err)
		}
		until := deadline(time.Millisecond)
		if held, err := p.LeaveGrace(ctx, ch, "1.1", "b", until); err != nil || !held {
			t.Fatalf("leave: held=%v err=%v", held, err)
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				removed, _, err := p.ExpireGrace(ctx, ch, "b", until)
				if err != nil {
					errs <- err
				}
				if removed {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if n := wins.Load(); n != 1 {
			t.Fatalf("%d concurrent expiries removed the member, want exactly 1", n)
		}
	})
	t.Run("HeldMembersCount", func(t *testing.T) {
		p := newStore(t)
		lim, ok := p.(broker.PresenceLimiter)
		if !ok {
			t.Skip("not a PresenceLimiter")
		}
		ctx := t.Context()
		const ch = "presence-grace-cap"
		for _, u := range []string{"a", "b"} {
			if _, _, _, err := lim.JoinLimited(ctx, ch, "1."+u, member(u), 2); err != nil {
				t.Fatal(err)
			}
		}
		if held, err := p.LeaveGrace(ctx, ch, "1.b", "b", deadline(time.Minute)); err != nil || !held {
			t.Fatalf("leave: held=%v err=%v", held, err)
		}
		if _, _, _, err := lim.JoinLimited(ctx, ch, "1.3", member("c"), 2); !errors.Is(err, broker.ErrPresenceFull) {
			t.Fatalf("a new user while a held member fills the channel: err=%v, want ErrPresenceFull", err)
		}
		if first, _, _, err := lim.JoinLimited(ctx, ch, "1.4", member("b"), 2); err != nil || first {
			t.Fatalf("the held member comes back to a full channel: first=%v err=%v", first, err)
		}
	})
}
