package hub

import (
	"encoding/json"
	"testing"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
)

type rawCodec struct{}

func (rawCodec) EncodeEvent(_ string, m *broker.Envelope) []byte { return []byte(m.Event) }

// recorder is a subscriber that keeps what it was sent.
type recorder struct {
	id  string
	got []string
}

func (r *recorder) SocketID() string       { return r.id }
func (r *recorder) Codec() int             { return 0 }
func (r *recorder) Send(frame []byte) bool { r.got = append(r.got, string(frame)); return true }

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
