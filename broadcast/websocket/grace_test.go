package websocket

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/internal/wstest"
)

// channelIdle reports whether ch's executor has nothing queued or running.
func (s *Server) channelIdle(ch string) bool {
	i := s.stripe(ch)
	s.stripes.mu[i].Lock()
	defer s.stripes.mu[i].Unlock()
	st := s.stripes.chans[i][ch]
	return st == nil || (!st.running && len(st.ops) == 0)
}

// graceRoom is a presence channel with a Pusher observer (bob) and a
// native one (carol) on a server whose grace period runs on a manual
// clock.
type graceRoom struct {
	t     *testing.T
	ps    *pusherServer
	clock *wstest.Clock
	ch    string
	bob   *pusherClient
	carol *wstest.Client
}

const testGrace = 30 * time.Second

func newGraceRoom(t *testing.T, ch string) *graceRoom {
	t.Helper()
	clock := &wstest.Clock{}
	ps := newPusherServer(t, Config{PresenceGracePeriod: testGrace}, WithClock(clock))
	r := &graceRoom{t: t, ps: ps, clock: clock, ch: ch}
	r.bob = ps.dialPusher(t)
	r.bob.join(ch, "bob", "Bob")
	r.carol = wstest.Dial(t, ps.base+"/ws", nil)
	auth, cd := presenceAuth(r.carol.SocketID, ch, "carol")
	if f := r.carol.Subscribe(ch, auth, cd); f.Type != "subscription_succeeded" {
		t.Fatalf("carol: %s", f.Raw)
	}
	r.bob.expect("pusher_internal:member_added")
	r.carol.RoundTrip()
	return r
}

// pusherIDs returns the member ids of a Pusher subscription_succeeded.
func pusherIDs(t *testing.T, m pusherMsg) []string {
	t.Helper()
	var p struct {
		Presence struct {
			IDs []string `json:"ids"`
		} `json:"presence"`
	}
	m.decode(t, &p)
	return p.Presence.IDs
}

// joinAlice joins alice on a new Pusher connection and checks that both
// observers learn it once.
func (r *graceRoom) joinAlice() *pusherClient {
	r.t.Helper()
	a := r.ps.dialPusher(r.t)
	a.join(r.ch, "alice", "Alice")
	var d struct {
		UserID string `json:"user_id"`
	}
	m := r.bob.expect("pusher_internal:member_added")
	if m.decode(r.t, &d); d.UserID != "alice" {
		r.t.Fatalf("bob got %s", m.raw)
	}
	if f := r.carol.Expect("member_added"); !strings.Contains(string(f.Data), `"user_id":"alice"`) {
		r.t.Fatalf("carol got %s", f.Raw)
	}
	return a
}

// leave closes c's socket and waits until the server holds its
// departure.
func (r *graceRoom) leave(c *pusherClient) {
	r.t.Helper()
	_ = c.ws.Close()
	eventually(r.t, "the departure held", func() bool { return r.ps.heldDepartures() == 1 })
}

// markerIsNext publishes a marker to the channel and checks that it is
// the next frame of both observers: nothing was sent to them before it.
func (r *graceRoom) markerIsNext() {
	r.t.Helper()
	if err := r.ps.Publish(context.Background(), &broadcast.Message{Channels: []string{r.ch}, Event: "marker", Data: json.RawMessage(`1`)}); err != nil {
		r.t.Fatal(err)
	}
	r.bob.expect("marker")
	r.carol.Expect("marker")
}

// advance moves the clock and waits until the expiries it started ran.
func (r *graceRoom) advance(d time.Duration) {
	r.t.Helper()
	r.clock.Advance(d)
	eventually(r.t, "the expiry ran", func() bool { return r.ps.heldDepartures() == 0 && r.ps.channelIdle(r.ch) })
}

func (r *graceRoom) members() []string {
	r.t.Helper()
	ids, err := r.ps.PresenceUserIDs(context.Background(), r.ch)
	if err != nil {
		r.t.Fatal(err)
	}
	return ids
}

// A reload within the grace period: the other members, on either
// protocol, see no member_removed and no member_added, then or later; the
// reloaded page's list is complete.
func TestPresenceGraceReloadMakesNoEvents(t *testing.T) {
	t.Parallel()
	r := newGraceRoom(t, "presence-grace-reload")
	r.leave(r.joinAlice())
	if got := r.members(); !reflect.DeepEqual(got, []string{"alice", "bob", "carol"}) {
		t.Fatalf("members during the grace = %v", got)
	}
	again := r.ps.dialPusher(t)
	if ids := pusherIDs(t, again.join(r.ch, "alice", "Alice")); !reflect.DeepEqual(ids, []string{"alice", "bob", "carol"}) {
		t.Fatalf("the reloaded page's list = %v", ids)
	}
	r.markerIsNext()
	again.expect("marker")
	r.advance(testGrace) // the old departure's timer fires and finds it cancelled
	r.markerIsNext()
	again.expect("marker")
	again.roundTrip()
	if got := r.members(); !reflect.DeepEqual(got, []string{"alice", "bob", "carol"}) {
		t.Fatalf("members after the grace = %v", got)
	}
}

// A user who leaves for good is removed once, when the grace period
// ends and not before; meanwhile it is in a new joiner's list.
func TestPresenceGraceLeaveRemovesOnceAfterThePeriod(t *testing.T) {
	t.Parallel()
	r := newGraceRoom(t, "presence-grace-leave")
	r.leave(r.joinAlice())
	dave := r.ps.dialPusher(t)
	if ids := pusherIDs(t, dave.join(r.ch, "dave", "Dave")); !reflect.DeepEqual(ids, []string{"alice", "bob", "carol", "dave"}) {
		t.Fatalf("a joiner during the grace sees %v: alice is a member until it ends", ids)
	}
	r.bob.expect("pusher_internal:member_added")
	r.carol.Expect("member_added")

	r.clock.Advance(testGrace - time.Millisecond)
	r.markerIsNext()
	dave.expect("marker")
	if r.ps.heldDepartures() != 1 {
		t.Fatal("the departure is no longer held before the period ended")
	}

	r.advance(time.Millisecond)
	var removed struct {
		UserID string `json:"user_id"`
	}
	r.bob.expect("pusher_internal:member_removed").decode(t, &removed)
	if removed.UserID != "alice" {
		t.Fatalf("bob: member_removed of %q", removed.UserID)
	}
	dave.expect("pusher_internal:member_removed")
	if f := r.carol.Expect("member_removed"); string(f.Data) != `{"user_id":"alice"}` {
		t.Fatalf("carol: %s", f.Raw)
	}
	r.markerIsNext()
	dave.expect("marker")
	if got := r.members(); !reflect.DeepEqual(got, []string{"bob", "carol", "dave"}) {
		t.Fatalf("members after the grace = %v", got)
	}
	// Coming back after the period is a new membership.
	r.ps.dialPusher(t).join(r.ch, "alice", "Alice")
	r.bob.expect("pusher_internal:member_added")
	r.carol.Expect("member_added")
}

// One of two tabs closing holds nothing; the last one does. Shutdown
// stops the timers of departures still held.
func TestPresenceGraceLastTabAndShutdown(t *testing.T) {
	t.Parallel()
	r := newGraceRoom(t, "presence-grace-tabs")
	tab1 := r.joinAlice()
	tab2 := r.ps.dialPusher(t)
	tab2.join(r.ch, "alice", "Alice")
	_ = tab1.ws.Close()
	eventually(t, "tab closed", func() bool { return len(r.ps.LocalClients(r.ch)) == 3 })
	r.markerIsNext()
	if n := r.ps.heldDepartures(); n != 0 {
		t.Fatalf("%d departures held while alice has a tab open", n)
	}
	r.leave(tab2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.ps.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the timers stopped", func() bool { return r.ps.heldDepartures() == 0 })
}

func TestPresenceGraceConfig(t *testing.T) {
	t.Parallel()
	if d := (Config{}).WithDefaults().PresenceGracePeriod; d != 3*time.Second {
		t.Fatalf("default grace %s", d)
	}
	if d := (Config{PresenceGracePeriod: -1}).WithDefaults().PresenceGracePeriod; d >= 0 {
		t.Fatalf("off became %s", d)
	}
	if err := (Config{PresenceGracePeriod: 11 * time.Minute}).WithDefaults().Validate(); err == nil {
		t.Fatal("an 11m grace period passed validation")
	}
}
