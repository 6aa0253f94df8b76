package websocket

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/signature"
	"github.com/velocitykode/velocity/internal/wstest"
)

func TestPusherHandshakeIsDoubleEncoded(t *testing.T) {
	t.Parallel()
	ps := newPusherServer(t, Config{PingInterval: 25e9, ReadTimeout: 60e9})
	c := ps.dialPusherRaw(t, pusherTestApp.Key, nil)
	m := c.expect("pusher:connection_established")
	var d struct {
		SocketID        string `json:"socket_id"`
		ActivityTimeout int    `json:"activity_timeout"`
	}
	m.decode(t, &d) // fails unless data is a string holding JSON
	if d.ActivityTimeout != 25 || !socketIDPattern.MatchString(d.SocketID) {
		t.Fatalf("handshake %s", m.raw)
	}
	c.roundTrip()
}

func TestPusherUnknownAppKeyCloses4001(t *testing.T) {
	t.Parallel()
	ps := newPusherServer(t, Config{})
	c := ps.dialPusherRaw(t, "wrong-key", nil)
	if code := c.expect("pusher:error").errorCode(t); code != 4001 {
		t.Fatalf("error code %d, want 4001", code)
	}
	if code := c.expectClose(); code != 4001 {
		t.Fatalf("close code %d, want 4001", code)
	}
}

func TestPusherOriginAllowList(t *testing.T) {
	t.Parallel()
	ps := newPusherServer(t, Config{AllowedOrigins: []string{"https://app.example"}})
	bad := ps.dialPusherRaw(t, pusherTestApp.Key, http.Header{"Origin": {"https://evil.example"}})
	if code := bad.expect("pusher:error").errorCode(t); code != CodeUnauthorized {
		t.Fatalf("error code %d, want 4009", code)
	}
	if code := bad.expectClose(); code != CodeUnauthorized {
		t.Fatalf("close code %d, want 4009", code)
	}
	good := ps.dialPusherRaw(t, pusherTestApp.Key, http.Header{"Origin": {"https://app.example"}})
	good.expect("pusher:connection_established")
}

// dialNative connects a native client to /ws and subscribes it.
func (ps *pusherServer) dialNative(t *testing.T, channel string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(ps.base+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	nc := &pusherClient{t: t, ws: ws}
	readNative(t, nc, "connected")
	nc.send(map[string]any{"type": "subscribe", "data": map[string]any{"channel": channel}})
	readNative(t, nc, "subscription_succeeded")
	return ws
}

func readNative(t *testing.T, c *pusherClient, typ string) map[string]json.RawMessage {
	t.Helper()
	m, err := c.tryRead(5e9)
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]json.RawMessage
	_ = json.Unmarshal([]byte(m.raw), &f)
	if string(f["type"]) != `"`+typ+`"` {
		t.Fatalf("native got %s, want %s", m.raw, typ)
	}
	return f
}

func TestPusherEmitReachesBothProtocols(t *testing.T) {
	t.Parallel()
	ps := newPusherServer(t, Config{})
	p := ps.dialPusher(t)
	p.subscribe("orders", "", "")
	if ok := p.expect("pusher_internal:subscription_succeeded"); ok.Channel != "orders" || ok.str(t) != "{}" {
		t.Fatalf("subscription_succeeded %s", ok.raw)
	}
	n := ps.dialNative(t, "orders")
	if err := ps.b.Channel("orders").Emit("OrderShipped", map[string]any{"order_id": 7, "note": `a "b" <c>`}); err != nil {
		t.Fatal(err)
	}
	m := p.expect("OrderShipped")
	var got map[string]any
	m.decode(t, &got)
	if m.Channel != "orders" || got["order_id"] != 7.0 || got["note"] != `a "b" <c>` {
		t.Fatalf("pusher frame %s", m.raw)
	}
	f := readNative(t, &pusherClient{t: t, ws: n}, "OrderShipped")
	if string(f["data"]) != `{"note":"a \"b\" \u003cc\u003e","order_id":7}` {
		t.Fatalf("native data %s", f["data"])
	}
	// A JSON string payload is the Pusher data string itself.
	if err := ps.b.Channel("orders").Emit("Note", "plain text"); err != nil {
		t.Fatal(err)
	}
	if s := p.expect("Note").str(t); s != "plain text" {
		t.Fatalf("string payload arrived as %q", s)
	}
}

func TestPusherPrivateAndEncryptedChannels(t *testing.T) {
	t.Parallel()
	ps := newPusherServer(t, Config{})
	c := ps.dialPusher(t)
	for _, ch := range []string{"private-orders.1", "private-encrypted-inbox.1"} {
		c.subscribe(ch, signature.ChannelAuth(pusherTestApp, c.socketID, ch, ""), "")
		if m := c.expect("pusher_internal:subscription_succeeded"); m.Channel != ch {
			t.Fatalf("subscribed %s", m.raw)
		}
	}
	// The server never decrypts: the ciphertext document passes through.
	enc := `{"nonce":"bm9uY2U=","ciphertext":"Y2lwaGVy"}`
	if err := ps.b.Publish(context.Background(), &broadcast.Message{Channels: []string{"private-encrypted-inbox.1"}, Event: "Secret", Data: json.RawMessage(enc)}); err != nil {
		t.Fatal(err)
	}
	if s := c.expect("Secret").str(t); s != enc {
		t.Fatalf("encrypted data became %q", s)
	}
}

func TestPusherRefusedSubscriptionIsChannelScoped(t *testing.T) {
	t.Parallel()
	ps := newPusherServer(t, Config{})
	c := ps.dialPusher(t)
	other := ps.dialPusher(t)
	cases := []struct {
		name, channel, auth string
		status              int
	}{
		{"bad signature", "private-orders.1", pusherTestApp.Key + ":" + signature.Sign("wrong", "x"), 401},
		{"signature of another socket", "private-orders.1", signature.ChannelAuth(pusherTestApp, other.socketID, "private-orders.1", ""), 401},
		{"wrong key", "private-orders.1", "other-key:" + signature.Sign(pusherTestApp.Secret, c.socketID+":private-orders.1"), 401},
		{"anonymous connection without auth", "private-orders.1", "", 401},
		{"invalid channel name", "bad channel!", "", CodeUnauthorized},
	}
	for _, tc := range cases {
		c.subscribe(tc.channel, tc.auth, "")
		m := c.expect("pusher:subscription_error")
		var d struct {
			Type   string `json:"type"`
			Error  string `json:"error"`
			Status int    `json:"status"`
		}
		m.decode(t, &d)
		if m.Channel != tc.channel || d.Status != tc.status || d.Error == "" {
			t.Errorf("%s: got %s", tc.name, m.raw)
		}
	}
	c.roundTrip() // the connection stays open
}

func TestPusherPresencePerUser(t *testing.T) {
	t.Parallel()
	ps := newPusherServer(t, Config{PresenceGracePeriod: -1}) // asserts when member_removed goes out
	const ch = "presence-chat.1"
	a, b, a2 := ps.dialPusher(t), ps.dialPusher(t), ps.dialPusher(t)

	type presence struct {
		Presence struct {
			IDs   []string                  `json:"ids"`
			Hash  map[string]map[string]any `json:"hash"`
			Count int                       `json:"count"`
		} `json:"presence"`
	}
	var p presence
	a.join(ch, "1", "Alice").decode(t, &p)
	if p.Presence.Count != 1 || !reflect.DeepEqual(p.Presence.IDs, []string{"1"}) || p.Presence.Hash["1"]["name"] != "Alice" {
		t.Fatalf("first member sees %+v", p)
	}
	b.join(ch, "2", "Bob").decode(t, &p)
	if p.Presence.Count != 2 || !reflect.DeepEqual(p.Presence.IDs, []string{"1", "2"}) {
		t.Fatalf("second member sees %+v", p)
	}
	var added struct {
		UserID   string         `json:"user_id"`
		UserInfo map[string]any `json:"user_info"`
	}
	a.expect("pusher_internal:member_added").decode(t, &added)
	if added.UserID != "2" || added.UserInfo["name"] != "Bob" {
		t.Fatalf("member_added %+v", added)
	}
	// Alice's second connection: no member_added, distinct users counted.
	a2.join(ch, "1", "Alice").decode(t, &p)
	if p.Presence.Count != 2 {
		t.Fatalf("count with a user twice = %d", p.Presence.Count)
	}
	a.roundTrip()
	b.roundTrip()
	a2.send(map[string]any{"event": "pusher:unsubscribe", "data": map[string]any{"channel": ch}})
	a2.roundTrip()
	b.roundTrip() // Alice still has a connection: no member_removed
	_ = b.ws.Close()
	var removed struct {
		UserID string `json:"user_id"`
	}
	a.expect("pusher_internal:member_removed").decode(t, &removed)
	if removed.UserID != "2" {
		t.Fatalf("member_removed %+v", removed)
	}
	if ids, _ := ps.PresenceUserIDs(context.Background(), ch); !reflect.DeepEqual(ids, []string{"1"}) {
		t.Fatalf("PresenceUserIDs = %v", ids)
	}
}

func TestPusherClientEvents(t *testing.T) {
	t.Parallel()
	ps := newPusherServer(t, Config{})
	const ch = "presence-room.1"
	a, b, outsider := ps.dialPusher(t), ps.dialPusher(t), ps.dialPusher(t)
	a.join(ch, "1", "Alice")
	b.join(ch, "2", "Bob")
	a.expect("pusher_internal:member_added")

	a.send(`{"event":"client-typing","channel":"presence-room.1","data":{"typing":true}}`)
	m := b.expect("client-typing")
	if m.Channel != ch || m.UserID != "1" || string(m.Data) != `{"typing":true}` {
		t.Fatalf("relayed %s", m.raw)
	}
	a.roundTrip() // not echoed to the sender

	outsider.send(`{"event":"client-typing","channel":"presence-room.1","data":{}}`)
	if code := outsider.expect("pusher:error").errorCode(t); code != CodeUnauthorized {
		t.Fatalf("non-member client event: code %d, want 4009", code)
	}
	outsider.subscribe("lobby", "", "")
	outsider.expect("pusher_internal:subscription_succeeded")
	outsider.send(`{"event":"client-x","channel":"lobby","data":{}}`)
	if code := outsider.expect("pusher:error").errorCode(t); code != CodeRateLimited {
		t.Fatalf("public client event: code %d, want 4301", code)
	}
	b.roundTrip() // nothing from the outsider reached a member
}

func TestPusherBadFramesKeepConnection(t *testing.T) {
	t.Parallel()
	ps := newPusherServer(t, Config{})
	c := ps.dialPusher(t)
	for _, f := range []string{`not json`, `{"data":{}}`, `{"event":"pusher:subscribe","data":{"auth":""}}`, `{"event":"pusher:bogus"}`} {
		c.send(f)
		if code := c.expect("pusher:error").errorCode(t); code != CodeShutdown {
			t.Errorf("%s: code %d, want 4200", f, code)
		}
	}
	// pusher:pong is accepted silently; data given as a string works.
	c.send(`{"event":"pusher:pong","data":{}}`)
	c.send(`{"event":"pusher:subscribe","data":"{\"channel\":\"news\"}"}`)
	c.expect("pusher_internal:subscription_succeeded")
	c.roundTrip()
}

func TestPusherCloseCodes(t *testing.T) {
	t.Parallel()
	ps := newPusherServer(t, Config{})
	for native, want := range map[int]int{
		CodeSlowConsumer: 4100, CodeTokenExpired: 4200, CodeMalformedFrame: 4200,
		CodeNotSubscribed: 4009, CodeUnauthorized: 4009, CodeShutdown: 4200, 1000: 1000,
	} {
		if got := ps.pusher.CloseCode(native); got != want {
			t.Errorf("close code for %d = %d, want %d", native, got, want)
		}
		if got := ps.native.CloseCode(native); got != native {
			t.Errorf("native close code for %d = %d", native, got)
		}
	}
	c := ps.dialPusher(t)
	if !ps.Disconnect(c.socketID, CodeShutdown, "reconnect please") {
		t.Fatal("Disconnect did not find the connection")
	}
	if code := c.expect("pusher:error").errorCode(t); code != 4200 {
		t.Fatalf("error code %d", code)
	}
	if code := c.expectClose(); code != 4200 {
		t.Fatalf("close code %d, want 4200", code)
	}
	if ps.Disconnect("1.1", CodeShutdown, "") {
		t.Fatal("Disconnect found an unknown socket")
	}
}

// Limits: a connection subscribes to MaxSubscriptions channels at most
// (4409, and it stays open), and a presence member's user_info is at most
// MaxUserInfoBytes (4410; 4009 for Pusher clients).
func TestSubscriptionLimits(t *testing.T) {
	t.Parallel()
	ps := newPusherServer(t, Config{MaxSubscriptions: 3, MaxUserInfoBytes: 64})
	n := wstest.Dial(t, ps.base+"/ws", nil)
	for _, ch := range []string{"a", "b", "c"} {
		if f := n.Subscribe(ch, "", ""); f.Type != "subscription_succeeded" {
			t.Fatalf("%s: %s", ch, f.Raw)
		}
	}
	if f := n.Subscribe("d", "", ""); f.Type != "subscription_error" || f.Code() != CodeTooManyChannels {
		t.Fatalf("fourth channel: %s", f.Raw)
	}
	n.Send(`{"type":"unsubscribe","data":{"channel":"a"}}`)
	if f := n.Subscribe("d", "", ""); f.Type != "subscription_succeeded" {
		t.Fatalf("after leaving one: %s", f.Raw)
	}

	p := ps.dialPusher(t)
	const ch = "presence-limits"
	big := `{"user_id":"1","user_info":{"bio":"` + strings.Repeat("x", 100) + `"}}`
	p.subscribe(ch, signature.ChannelAuth(pusherTestApp, p.socketID, ch, big), big)
	var d struct{ Code int }
	p.expect("pusher:subscription_error").decode(t, &d)
	if d.Code != CodeUnauthorized {
		t.Fatalf("oversized user_info: code %d, want 4009", d.Code)
	}
	if m := p.join(ch, "1", "Ann"); m.Channel != ch {
		t.Fatalf("a small member joins: %s", m.raw)
	}
}
