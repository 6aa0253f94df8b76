package hub

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
)

type rawCodec struct{}

func (rawCodec) EncodeEvent(_ string, m *broker.Envelope) []byte { return []byte(m.Event) }

// recorder is a subscriber that keeps what it was sent.
type recorder struct {
	id   string
	got  []string
	keys []string // channel/key of each keyed frame
}

func (r *recorder) SocketID() string       { return r.id }
func (r *recorder) Codec() int             { return 0 }
func (r *recorder) Send(frame []byte) bool { r.got = append(r.got, string(frame)); return true }
func (r *recorder) SendKeyed(frame []byte, channel, key string) bool {
	r.keys = append(r.keys, channel+"/"+key)
	return r.Send(frame)
}

// A subscriber that joined with a member list at version v does not get
// the member events at or before v (its list has them) and gets the later
// ones; messages without a version reach everyone. The versions follow
// their subscribers when others leave.
func TestPresenceVersionFiltersStaleMemberEvents(t *testing.T) {
	h := New(rawCodec{})
	early, mid, late := &recorder{id: "1.1"}, &recorder{id: "1.2"}, &recorder{id: "1.3"}
	h.AddAndSend("presence-room", early, []byte("ok"), 10)
	h.AddAndSend("presence-room", mid, []byte("ok"), 20)
	h.AddAndSend("presence-room", late, []byte("ok"), 30)
	h.Remove("presence-room", early) // late moves into early's slot

	for _, m := range []broker.Envelope{
		{Message: broadcast.Message{Event: "added@15"}, Version: 15},
		{Message: broadcast.Message{Event: "added@20"}, Version: 20},
		{Message: broadcast.Message{Event: "added@25"}, Version: 25},
		{Message: broadcast.Message{Event: "Chat", Data: json.RawMessage(`1`)}},
		{Message: broadcast.Message{Event: "removed@31"}, Version: 31},
	} {
		m.Channels = []string{"presence-room"}
		h.Deliver(&m)
	}
	want := map[*recorder][]string{
		early: {"ok"},
		mid:   {"ok", "added@25", "Chat", "removed@31"},
		late:  {"ok", "Chat", "removed@31"},
	}
	for r, w := range want {
		if len(r.got) != len(w) {
			t.Fatalf("%s got %q, want %q", r.id, r.got, w)
		}
		for i := range w {
			if r.got[i] != w[i] {
				t.Fatalf("%s got %q, want %q", r.id, r.got, w)
			}
		}
	}
}

// A member restated in a new epoch reaches only the lists of that epoch.
func TestEpochLimitsRestatedMembersToNewerLists(t *testing.T) {
	h := New(rawCodec{})
	old, fresh := &recorder{id: "1.1"}, &recorder{id: "1.2"}
	h.AddAndSend("presence-room", old, []byte("ok"), 10)
	h.AddAndSend("presence-room", fresh, []byte("ok"), 100)
	h.Deliver(&broker.Envelope{Message: broadcast.Message{Channels: []string{"presence-room"}, Event: "restated"}, Version: 120, Epoch: 90})
	if len(old.got) != 1 || len(fresh.got) != 2 || fresh.got[1] != "restated" {
		t.Fatalf("old got %q, fresh got %q", old.got, fresh.got)
	}
}

func envelope(channel, event, except string) *broker.Envelope {
	e := broker.New(channel, event, json.RawMessage(`1`))
	e.Except = except
	return e
}

// ToOthers: the connection named in Except gets nothing, everyone else
// gets the message once.
func TestDeliverLeavesOutExcept(t *testing.T) {
	t.Parallel()
	h := New(rawCodec{})
	a, b, c := &recorder{id: "1.1"}, &recorder{id: "1.2"}, &recorder{id: "1.3"}
	for _, r := range []*recorder{a, b, c} {
		h.Add("orders", r)
	}
	if n := h.Deliver(envelope("orders", "Shipped", "1.2")); n != 2 {
		t.Fatalf("Deliver accepted %d frames, want 2", n)
	}
	if len(a.got) != 1 || len(b.got) != 0 || len(c.got) != 1 {
		t.Fatalf("got a=%q b=%q c=%q; b is the sender and must get nothing", a.got, b.got, c.got)
	}
	if st := h.Stats(); st.Delivered != 2 || st.Subscriptions != 3 || st.Channels != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// Add and Remove report the first and the last local subscriber, which
// is when the node subscribes to and unsubscribes from its broker.
func TestAddRemoveReportFirstAndLast(t *testing.T) {
	t.Parallel()
	h := New(rawCodec{})
	a, b := &recorder{id: "1.1"}, &recorder{id: "1.2"}
	steps := []struct {
		name            string
		do              func() (bool, bool)
		changed, border bool
	}{
		{"first add", func() (bool, bool) { return h.Add("c", a) }, true, true},
		{"second add", func() (bool, bool) { return h.Add("c", b) }, true, false},
		{"add again", func() (bool, bool) { return h.Add("c", b) }, false, false},
		{"remove one", func() (bool, bool) { return h.Remove("c", a) }, true, false},
		{"remove absent", func() (bool, bool) { return h.Remove("c", a) }, false, false},
		{"remove last", func() (bool, bool) { return h.Remove("c", b) }, true, true},
		{"remove from empty", func() (bool, bool) { return h.Remove("c", b) }, false, false},
	}
	for _, s := range steps {
		if changed, border := s.do(); changed != s.changed || border != s.border {
			t.Fatalf("%s: (%v, %v), want (%v, %v)", s.name, changed, border, s.changed, s.border)
		}
	}
	if h.Count("c") != 0 || len(h.Channels()) != 0 {
		t.Fatalf("channel left behind: count %d, channels %v", h.Count("c"), h.Channels())
	}
}

// Removing a subscriber from the middle moves the last one into its
// place: every remaining subscriber still gets each message exactly once.
func TestSwapRemoveKeepsEveryoneOnce(t *testing.T) {
	t.Parallel()
	h := New(rawCodec{})
	rs := make([]*recorder, 6)
	for i := range rs {
		rs[i] = &recorder{id: "1." + string(rune('a'+i))}
		h.Add("c", rs[i])
	}
	h.Remove("c", rs[1])
	h.Remove("c", rs[3])
	h.Deliver(envelope("c", "E", ""))
	for i, r := range rs {
		want := 1
		if i == 1 || i == 3 {
			want = 0
		}
		if len(r.got) != want {
			t.Fatalf("subscriber %d got %d frames, want %d", i, len(r.got), want)
		}
	}
	ids := h.SocketIDs("c")
	if len(ids) != 4 {
		t.Fatalf("SocketIDs = %v", ids)
	}
}

// countingCodec counts how often it encodes.
type countingCodec struct{ n *atomic.Int64 }

func (c countingCodec) EncodeEvent(_ string, m *broker.Envelope) []byte {
	c.n.Add(1)
	return []byte(m.Event)
}

type codecSub struct {
	recorder
	codec int
}

func (s *codecSub) Codec() int { return s.codec }

// Any number of codecs: each encodes a message once, only when one of
// its subscribers gets it.
func TestFramesPerCodec(t *testing.T) {
	t.Parallel()
	counts := make([]atomic.Int64, 6)
	codecs := make([]Codec, len(counts))
	for i := range codecs {
		codecs[i] = countingCodec{&counts[i]}
	}
	h := New(codecs...)
	for i := range 10 {
		h.Add("c", &codecSub{recorder: recorder{id: "2." + string(rune('a'+i))}, codec: i % 5})
	}
	if n := h.Deliver(envelope("c", "E", "")); n != 10 {
		t.Fatalf("delivered %d", n)
	}
	for i := range counts {
		want := int64(1)
		if i == 5 {
			want = 0 // nobody speaks it
		}
		if got := counts[i].Load(); got != want {
			t.Fatalf("codec %d encoded %d times, want %d", i, got, want)
		}
	}
}

// syncRecorder is a subscriber safe for concurrent deliveries.
type syncRecorder struct {
	id string
	n  atomic.Int64
}

func (r *syncRecorder) SocketID() string                     { return r.id }
func (r *syncRecorder) Codec() int                           { return 0 }
func (r *syncRecorder) Send(_ []byte) bool                   { r.n.Add(1); return true }
func (r *syncRecorder) SendKeyed(f []byte, _, _ string) bool { return r.Send(f) }

// Subscribers join and leave while messages are delivered: a subscriber
// that was in the channel for the whole run gets every message, and the
// race detector sees no conflict.
func TestConcurrentAddRemoveDeliver(t *testing.T) {
	t.Parallel()
	h := New(rawCodec{})
	stable := &syncRecorder{id: "9.9"}
	h.Add("c", stable)
	const msgs = 2000
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &syncRecorder{id: "3." + string(rune('a'+w))}
			for {
				select {
				case <-stop:
					return
				default:
				}
				h.Add("c", r)
				h.Count("c")
				h.Remove("c", r)
			}
		}()
	}
	for range msgs {
		h.Deliver(envelope("c", "E", ""))
	}
	close(stop)
	wg.Wait()
	if got := stable.n.Load(); got != msgs {
		t.Fatalf("stable subscriber got %d of %d", got, msgs)
	}
	if n := h.Count("c"); n != 1 {
		t.Fatalf("%d subscribers left, want 1", n)
	}
}
