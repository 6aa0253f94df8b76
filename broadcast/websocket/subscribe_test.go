package websocket

import (
	"encoding/json"
	"testing"

	"github.com/velocitykode/velocity/broadcast/signature"
	"github.com/velocitykode/velocity/internal/wstest"
)

// presenceAuth signs a presence subscription of user on channel for the
// connection socketID.
func presenceAuth(socketID, channel, user string) (auth, channelData string) {
	cd := `{"user_id":"` + user + `","user_info":{"name":"` + user + `"}}`
	return signature.ChannelAuth(pusherTestApp, socketID, channel, cd), cd
}

// A second subscribe to a channel is answered on the channel with its
// success frame again (a client waiting for the channel's answer gets
// one), and changes nothing: events still arrive once.
func TestSubscribeTwiceAnswersOnTheChannel(t *testing.T) {
	t.Parallel()
	ps := newPusherServer(t, Config{})

	t.Run("native", func(t *testing.T) {
		c := wstest.Dial(t, ps.base+"/ws", nil)
		for range 2 {
			if f := c.Subscribe("twice", "", ""); f.Type != "subscription_succeeded" || f.Channel != "twice" {
				t.Fatalf("answer %s", f.Raw)
			}
		}
		auth, cd := presenceAuth(c.SocketID, "presence-twice", "ann")
		for range 2 {
			f := c.Subscribe("presence-twice", auth, cd)
			var d struct {
				Members []struct {
					UserID string `json:"user_id"`
				} `json:"members"`
			}
			if err := json.Unmarshal(f.Data, &d); f.Type != "subscription_succeeded" || f.Channel != "presence-twice" || err != nil || len(d.Members) != 1 || d.Members[0].UserID != "ann" {
				t.Fatalf("answer %s", f.Raw)
			}
		}
		for _, ch := range []string{"twice", "presence-twice"} {
			if err := ps.b.Channel(ch).Emit("Once", 1); err != nil {
				t.Fatal(err)
			}
			if f := c.Expect("Once"); f.Channel != ch {
				t.Fatalf("event %s", f.Raw)
			}
		}
		c.RoundTrip() // no second copy
	})

	t.Run("pusher", func(t *testing.T) {
		c := ps.dialPusher(t)
		for range 2 {
			c.subscribe("twice-pusher", "", "")
			if m := c.expect("pusher_internal:subscription_succeeded"); m.Channel != "twice-pusher" {
				t.Fatalf("answer %s", m.raw)
			}
		}
		for range 2 {
			m := c.join("presence-twice-pusher", "bob", "Bob")
			var d struct {
				Presence struct {
					Count int `json:"count"`
				} `json:"presence"`
			}
			m.decode(t, &d)
			if m.Channel != "presence-twice-pusher" || d.Presence.Count != 1 {
				t.Fatalf("answer %s", m.raw)
			}
		}
		for _, ch := range []string{"twice-pusher", "presence-twice-pusher"} {
			if err := ps.b.Channel(ch).Emit("Once", 1); err != nil {
				t.Fatal(err)
			}
			if m := c.expect("Once"); m.Channel != ch {
				t.Fatalf("event %s", m.raw)
			}
		}
		c.roundTrip()
	})
}

// A presence channel holds MaxPresenceMembers users: one more user is
// refused with 4411 (4009 on Pusher) and keeps the connection; a member
// may join with another connection.
func TestPresenceMemberCap(t *testing.T) {
	t.Parallel()
	ps := newPusherServer(t, Config{MaxPresenceMembers: 2})
	join := func(user string) (*wstest.Client, wstest.Frame) {
		c := wstest.Dial(t, ps.base+"/ws", nil)
		auth, cd := presenceAuth(c.SocketID, "presence-capped", user)
		return c, c.Subscribe("presence-capped", auth, cd)
	}
	for _, u := range []string{"u1", "u2", "u1"} {
		if _, f := join(u); f.Type != "subscription_succeeded" {
			t.Fatalf("%s: %s", u, f.Raw)
		}
	}
	c, f := join("u3")
	if f.Type != "subscription_error" || f.Channel != "presence-capped" || f.Code() != CodePresenceFull {
		t.Fatalf("over the cap: %s", f.Raw)
	}
	c.RoundTrip() // the connection stays

	p := ps.dialPusher(t)
	cd := `{"user_id":"u4"}`
	p.subscribe("presence-capped", signature.ChannelAuth(pusherTestApp, p.socketID, "presence-capped", cd), cd)
	m := p.expect("pusher:subscription_error")
	var d struct {
		Status int `json:"status"`
	}
	m.decode(t, &d)
	if m.Channel != "presence-capped" || d.Status != 4009 {
		t.Fatalf("pusher over the cap: %s", m.raw)
	}
	p.roundTrip()
}
