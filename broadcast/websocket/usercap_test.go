package websocket

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/signature"
	"github.com/velocitykode/velocity/internal/wstest"
)

// headerUser identifies a handshake by its X-User header (none: anonymous).
func headerUser(r *http.Request) (Identity, error) {
	if u := r.Header.Get("X-User"); u != "" {
		return Identity{User: u}, nil
	}
	return Identity{}, nil
}

func asUser(u string) http.Header { return http.Header{"X-User": {u}} }

// closedSockets is a lifecycle sink that reports the socket id of every
// connection the server released.
type closedSockets chan string

func (closedSockets) Wants(k broadcast.LifecycleKind) bool { return k == broadcast.ConnectionClosed }
func (c closedSockets) Notify(e broadcast.LifecycleEvent) {
	select {
	case c <- e.SocketID:
	default:
	}
}

// waitClosed waits until the server released the connection id.
func (c closedSockets) waitClosed(t *testing.T, id string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case got := <-c:
			if got == id {
				return
			}
		case <-deadline:
			t.Fatalf("connection %s was not released", id)
		}
	}
}

// expectCloseReason reads until the close frame and returns it.
func expectCloseReason(t *testing.T, ws *websocket.Conn) *websocket.CloseError {
	t.Helper()
	for {
		_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := ws.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("connection ended without a close frame: %v", err)
			}
			return ce
		}
	}
}

const userCapReason = "too many connections of this user"

func TestUserConnectionCapNative(t *testing.T) {
	t.Parallel()
	closed := make(closedSockets, 16)
	ts := newTestServer(t, Config{MaxConnectionsPerUser: 2}, WithAuthenticator(headerUser), WithLifecycle(closed))
	a1, a2 := ts.dial(t, asUser("ada")), ts.dial(t, asUser("ada"))

	over := wstest.DialRaw(t, ts.url, asUser("ada"))
	if f := over.Expect("error"); f.Code() != CodeUserOverCapacity || !strings.Contains(f.Raw, userCapReason) {
		t.Fatalf("error frame %s, want %d %q", f.Raw, CodeUserOverCapacity, userCapReason)
	}
	if ce := expectCloseReason(t, over.WS); ce.Code != CodeUserOverCapacity || !strings.Contains(ce.Text, userCapReason) {
		t.Fatalf("close %d %q, want %d %q", ce.Code, ce.Text, CodeUserOverCapacity, userCapReason)
	}

	// Other users and anonymous connections are not affected, nor are
	// ada's open connections.
	ts.dial(t, asUser("bob")).RoundTrip()
	for range 3 {
		ts.dial(t, nil).RoundTrip()
	}
	a1.RoundTrip()
	a2.RoundTrip()
	if n := ts.UserConnectionCount("ada"); n != 2 {
		t.Fatalf("ada counts %d connections, want 2", n)
	}

	// A closed connection frees its slot.
	a1.WS.Close()
	closed.waitClosed(t, a1.SocketID)
	ts.dial(t, asUser("ada")).RoundTrip()
}

func TestUserConnectionCapRefresh(t *testing.T) {
	t.Parallel()
	verify := func(tok string) (Identity, error) { return Identity{User: tok}, nil }
	ts := newTestServer(t, Config{MaxConnectionsPerUser: 1}, WithAuthenticator(headerUser), WithTokenVerifier(verify))
	ts.dial(t, asUser("ada"))

	// An anonymous connection may not become a user at the cap.
	anon := ts.dial(t, nil)
	anon.Send(`{"type":"refresh","data":{"token":"ada"}}`)
	if f := anon.Expect("error"); f.Code() != CodeUserOverCapacity {
		t.Fatalf("refresh to a user at the cap: %s", f.Raw)
	}
	anon.Send(`{"type":"refresh","data":{"token":"bob"}}`)
	anon.Expect("refreshed")
	if n := ts.UserConnectionCount("bob"); n != 1 {
		t.Fatalf("bob counts %d connections, want 1", n)
	}
}

func TestUserConnectionCapUnlimited(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{MaxConnectionsPerUser: -1}, WithAuthenticator(headerUser))
	for range 3 {
		ts.dial(t, asUser("ada")).RoundTrip()
	}
}

func TestUserConnectionCapPusherHandshake(t *testing.T) {
	t.Parallel()
	ps := newPusherServer(t, Config{MaxConnectionsPerUser: 1}, WithAuthenticator(headerUser))
	c := ps.dialPusherRaw(t, pusherTestApp.Key, asUser("ada"))
	c.expect("pusher:connection_established")

	over := ps.dialPusherRaw(t, pusherTestApp.Key, asUser("ada"))
	// pusher-js reconnects after a backoff on 4100–4199.
	if code := over.expect("pusher:error").errorCode(t); code != CodeUserOverCapacity {
		t.Fatalf("pusher:error %d, want %d", code, CodeUserOverCapacity)
	}
	if ce := expectCloseReason(t, over.ws); ce.Code != CodeUserOverCapacity || !strings.Contains(ce.Text, userCapReason) {
		t.Fatalf("close %d %q, want %d", ce.Code, ce.Text, CodeUserOverCapacity)
	}
	ps.dialPusher(t).roundTrip() // anonymous
	c.roundTrip()
}

func TestUserConnectionCapPusherSignin(t *testing.T) {
	t.Parallel()
	closed := make(closedSockets, 16)
	ps := newPusherServer(t, Config{MaxConnectionsPerUser: 2}, WithLifecycle(closed))
	const userData = `{"id":"42"}`
	signedIn := func(c *pusherClient) {
		t.Helper()
		c.signin(userData)
		c.expect("pusher:signin_success")
		c.expect("pusher_internal:subscription_succeeded")
	}
	c1, c2, c3 := ps.dialPusher(t), ps.dialPusher(t), ps.dialPusher(t)
	signedIn(c1)
	signedIn(c2)

	c3.signin(userData)
	m := c3.expect("pusher:error")
	if code := m.errorCode(t); code != CodeUserOverCapacity || !strings.Contains(m.raw, userCapReason) {
		t.Fatalf("sign-in over the cap: %s", m.raw)
	}
	c3.roundTrip() // stays open, not signed in
	if err := ps.PublishToUser(context.Background(), "42", "Notice", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	c1.expect("Notice")
	c2.expect("Notice")
	c3.roundTrip() // got no Notice

	other := ps.dialPusher(t) // another user
	other.signin(`{"id":"7"}`)
	other.expect("pusher:signin_success")

	c1.ws.Close()
	closed.waitClosed(t, c1.socketID)
	signedIn(c3)
}

func TestUserConnectionCapPresenceMember(t *testing.T) {
	t.Parallel()
	ps := newPusherServer(t, Config{MaxConnectionsPerUser: 2})
	const ch = "presence-room"
	ps.dialPusher(t).join(ch, "7", "Ada")
	ps.dialPusher(t).join(ch, "7", "Ada")

	// Anonymous connections joining as user 7: the third is refused, so
	// one user cannot fill the channel's shared state.
	over := ps.dialPusher(t)
	cd := `{"user_id":"7","user_info":{"name":"Ada"}}`
	over.subscribe(ch, signature.ChannelAuth(pusherTestApp, over.socketID, ch, cd), cd)
	var d struct {
		Status int    `json:"status"`
		Error  string `json:"error"`
	}
	over.expect("pusher:subscription_error").decode(t, &d)
	if d.Status != CodeUserOverCapacity || !strings.Contains(d.Error, userCapReason) {
		t.Fatalf("presence join over the cap: %+v", d)
	}
	over.roundTrip()
	over.join(ch, "8", "Bob") // another user's join on the same connection: its first user
}
