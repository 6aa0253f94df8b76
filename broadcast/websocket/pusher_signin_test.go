package websocket

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/velocitykode/velocity/broadcast/signature"
)

func (c *pusherClient) signin(userData string) {
	c.t.Helper()
	c.send(map[string]any{"event": "pusher:signin", "data": map[string]any{
		"auth":      signature.UserAuth(pusherTestApp, c.socketID, userData),
		"user_data": userData,
	}})
}

func TestPusherSigninAndServerToUser(t *testing.T) {
	t.Parallel()
	ps := newPusherServer(t, Config{})
	ctx := context.Background()
	c, other := ps.dialPusher(t), ps.dialPusher(t)

	const userData = `{"id":"42","name":"Ada"}`
	c.signin(userData)
	var ok struct {
		UserData string `json:"user_data"`
	}
	c.expect("pusher:signin_success").decode(t, &ok)
	if ok.UserData != userData {
		t.Fatalf("signin_success user_data %q", ok.UserData)
	}
	if m := c.expect("pusher_internal:subscription_succeeded"); m.Channel != "#server-to-user-42" {
		t.Fatalf("user channel %s", m.raw)
	}
	// pusher-js then subscribes itself; that is acknowledged, not refused.
	c.subscribe("#server-to-user-42", "", "")
	c.expect("pusher_internal:subscription_succeeded")

	// Another connection may not listen to user 42.
	other.subscribe("#server-to-user-42", "", "")
	if m := other.expect("pusher:subscription_error"); m.Channel != "#server-to-user-42" {
		t.Fatalf("foreign user channel %s", m.raw)
	}

	if err := ps.PublishToUser(ctx, "42", "Notice", json.RawMessage(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	if m := c.expect("Notice"); m.Channel != "#server-to-user-42" || m.str(t) != `{"n":1}` {
		t.Fatalf("server-to-user event %s", m.raw)
	}
	other.roundTrip()

	if chans, _ := ps.OccupiedChannels(ctx, ""); len(chans) != 0 {
		t.Fatalf("user channels listed: %v", chans)
	}
	if err := ps.TerminateUserConnections(ctx, "42"); err != nil {
		t.Fatal(err)
	}
	if code := c.expect("pusher:error").errorCode(t); code != 4009 {
		t.Fatalf("terminate error code %d", code)
	}
	if code := c.expectClose(); code != 4009 {
		t.Fatalf("terminate close code %d, want 4009", code)
	}
	other.roundTrip() // not signed in: untouched
}

func TestPusherSigninRefusals(t *testing.T) {
	t.Parallel()
	ps := newPusherServer(t, Config{})
	c := ps.dialPusher(t)
	cases := []struct{ name, frame string }{
		{"bad signature", `{"event":"pusher:signin","data":{"auth":"app-key:` + signature.Sign("x", "y") + `","user_data":"{\"id\":\"1\"}"}}`},
		{"not an object", `{"event":"pusher:signin","data":[1]}`},
	}
	for _, tc := range cases {
		c.send(tc.frame)
		if code := c.expect("pusher:error").errorCode(t); code != 4009 {
			t.Errorf("%s: code %d, want 4009", tc.name, code)
		}
	}
	for _, ud := range []string{`{"id":7}`, `{"id":""}`, `{"name":"x"}`, `{"id":"a b"}`} {
		c.signin(ud)
		if code := c.expect("pusher:error").errorCode(t); code != 4009 {
			t.Errorf("user_data %s: code %d, want 4009", ud, code)
		}
	}
	c.signin(`{"id":"1"}`)
	c.expect("pusher:signin_success")
	c.expect("pusher_internal:subscription_succeeded")
	c.signin(`{"id":"2"}`)
	if code := c.expect("pusher:error").errorCode(t); code != 4009 {
		t.Fatalf("second user on one connection: code %d", code)
	}
	c.roundTrip()
}

func TestPusherChannelInfo(t *testing.T) {
	t.Parallel()
	ps := newPusherServer(t, Config{})
	ctx := context.Background()
	a, b := ps.dialPusher(t), ps.dialPusher(t)
	for _, c := range []*pusherClient{a, b} {
		c.subscribe("news", "", "")
		c.expect("pusher_internal:subscription_succeeded")
	}
	a.join("presence-room", "1", "Alice")
	b.join("presence-room", "1", "Alice")
	chans, _ := ps.OccupiedChannels(ctx, "")
	if !reflect.DeepEqual(chans, []string{"news", "presence-room"}) {
		t.Fatalf("channels %v", chans)
	}
	if chans, _ := ps.OccupiedChannels(ctx, "presence-"); !reflect.DeepEqual(chans, []string{"presence-room"}) {
		t.Fatalf("presence channels %v", chans)
	}
	if n, _ := ps.SubscriptionCount(ctx, "news"); n != 2 {
		t.Fatalf("subscription count %d", n)
	}
	if ids, _ := ps.PresenceUserIDs(ctx, "presence-room"); !reflect.DeepEqual(ids, []string{"1"}) {
		t.Fatalf("presence users %v", ids)
	}
}
