package websocket

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/internal/wstest"
)

func TestSeedClientReceivesEmit(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	c := ts.dial(t, nil)
	// The plain JavaScript client of the README, frame for frame.
	c.Send(`{"type":"subscribe","data":{"channel":"orders"}}`)
	ok := c.Expect("subscription_succeeded")
	if ok.Channel != "orders" || !strings.Contains(string(ok.Data), `"channel":"orders"`) {
		t.Fatalf("subscription_succeeded = %s", ok.Raw)
	}
	if err := ts.b.Channel("orders").Emit("order.shipped", map[string]any{"order_id": 12345, "tracking": "ABC123"}); err != nil {
		t.Fatal(err)
	}
	f := c.Expect("order.shipped")
	if f.Channel != "orders" || string(f.Data) != `{"order_id":12345,"tracking":"ABC123"}` {
		t.Fatalf("event frame = %s", f.Raw)
	}
}

func TestEmitToSeveralChannelsAndToOthers(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	a, b := ts.dial(t, nil), ts.dial(t, nil)
	for _, c := range []*wstest.Client{a, b} {
		subscribe(c, "orders")
		subscribe(c, "notifications")
	}
	if err := ts.b.Channel("orders", "notifications").ToOthers(a.SocketID).Emit("OrderUpdate", "x"); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for range 2 {
		f := b.Expect("OrderUpdate")
		got[f.Channel] = true
	}
	if !got["orders"] || !got["notifications"] {
		t.Fatalf("b got %v, want both channels", got)
	}
	// a was excluded: the next thing it sees is its own pong.
	a.RoundTrip()
}

func TestUnsubscribeStopsDelivery(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	c := ts.dial(t, nil)
	subscribe(c, "orders")
	c.Send(`{"type":"unsubscribe","data":{"channel":"orders"}}`)
	c.RoundTrip() // the unsubscribe was processed
	if n := ts.hub.Count("orders"); n != 0 {
		t.Fatalf("hub count after unsubscribe = %d", n)
	}
	_ = ts.b.Channel("orders").Emit("Late", 1)
	c.RoundTrip()
}

func TestGetClients(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	a, b := ts.dial(t, nil), ts.dial(t, nil)
	subscribe(a, "room")
	subscribe(b, "room")
	ids := ts.b.GetClients("room")
	if len(ids) != 2 || !(contains(ids, a.SocketID) && contains(ids, b.SocketID)) {
		t.Fatalf("GetClients = %v, want %s and %s", ids, a.SocketID, b.SocketID)
	}
	if ids := ts.b.GetClients("empty"); len(ids) != 0 {
		t.Fatalf("GetClients(empty) = %v", ids)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	bystander := ts.dial(t, nil)
	subscribe(bystander, "orders")

	cases := []struct {
		name  string
		setup []string
		frame any // string or []byte (binary)
		typ   string
		code  int
	}{
		{name: "malformed JSON", frame: `{"type":`, typ: "error", code: CodeMalformedFrame},
		{name: "array frame", frame: `[1,2]`, typ: "error", code: CodeMalformedFrame},
		{name: "string frame", frame: `"subscribe"`, typ: "error", code: CodeMalformedFrame},
		{name: "no type", frame: `{"data":{}}`, typ: "error", code: CodeMalformedFrame},
		{name: "type not a string", frame: `{"type":5}`, typ: "error", code: CodeMalformedFrame},
		{name: "data not an object", frame: `{"type":"subscribe","data":"orders"}`, typ: "error", code: CodeMalformedFrame},
		{name: "subscribe without channel", frame: `{"type":"subscribe","data":{}}`, typ: "error", code: CodeMalformedFrame},
		{name: "unknown type", frame: `{"type":"explode"}`, typ: "error", code: CodeUnknownType},
		{name: "binary frame", frame: []byte{1, 2, 3}, typ: "error", code: CodeBinaryFrame},
		{name: "bad channel characters", frame: `{"type":"subscribe","data":{"channel":"a b<script>"}}`, typ: "subscription_error", code: CodeInvalidChannel},
		{name: "channel too long", frame: `{"type":"subscribe","data":{"channel":"` + strings.Repeat("x", 201) + `"}}`, typ: "subscription_error", code: CodeInvalidChannel},
		{name: "unsubscribe never joined", frame: `{"type":"unsubscribe","data":{"channel":"never"}}`, typ: "error", code: CodeNotSubscribed},
		{name: "private without auth", frame: `{"type":"subscribe","data":{"channel":"private-user.1"}}`, typ: "subscription_error", code: CodeUnauthorized},
		{name: "presence without auth", frame: `{"type":"subscribe","data":{"channel":"presence-room"}}`, typ: "subscription_error", code: CodeUnauthorized},
		{name: "client event on public channel", setup: []string{`{"type":"subscribe","data":{"channel":"pub"}}`}, frame: `{"type":"client-typing","channel":"pub","data":{}}`, typ: "error", code: CodeClientEvent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ts.dial(t, nil)
			for _, s := range tc.setup {
				c.Send(s)
				c.Read()
			}
			if b, ok := tc.frame.([]byte); ok {
				if err := c.WS.WriteMessage(websocket.BinaryMessage, b); err != nil {
					t.Fatal(err)
				}
			} else {
				c.Send(tc.frame)
			}
			f := c.Expect(tc.typ)
			var d struct {
				Code int `json:"code"`
			}
			if err := json.Unmarshal(f.Data, &d); err != nil || d.Code != tc.code {
				t.Fatalf("frame %s: want code %d", f.Raw, tc.code)
			}
			c.RoundTrip() // the connection survives
		})
	}
	// Nothing above disturbed another connection.
	if err := ts.b.Channel("orders").Emit("StillHere", 1); err != nil {
		t.Fatal(err)
	}
	bystander.Expect("StillHere")
}

func TestOversizedFrameCloses1009(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{MaxMessageSize: 1024})
	c := ts.dial(t, nil)
	c.Send(`{"type":"subscribe","data":{"channel":"` + strings.Repeat("x", 2000) + `"}}`)
	if code := c.ExpectClose(); code != CloseMessageTooLarge {
		t.Fatalf("close code %d, want %d", code, CloseMessageTooLarge)
	}
	eventually(t, "connection released", func() bool { return ts.ConnectionCount() == 0 })
}

func TestReservedEventNamesCannotBeEmitted(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	for _, name := range []string{"connected", "pong", "error", "subscription_succeeded", "subscription_error", "member_added", "member_removed", "client-x", "pusher:ping", "pusher_internal:x"} {
		if err := ts.b.Channel("orders").Emit(name, 1); !errors.Is(err, broadcast.ErrReservedEvent) {
			t.Errorf("Emit(%q) = %v, want ErrReservedEvent", name, err)
		}
		// The driver itself refuses them too, for code that publishes
		// to it directly.
		m := &broadcast.Message{Channels: []string{"orders"}, Event: name}
		if err := ts.Server.Publish(context.Background(), m); !errors.Is(err, broadcast.ErrReservedEvent) {
			t.Errorf("Server.Publish(%q) = %v, want ErrReservedEvent", name, err)
		}
		if err := ts.Server.Broadcast([]string{"orders"}, name, 1); !errors.Is(err, broadcast.ErrReservedEvent) {
			t.Errorf("Server.Broadcast(%q) = %v, want ErrReservedEvent", name, err)
		}
	}
}

func TestSlowConsumerIsClosedOthersUnaffected(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{MaxQueueBytes: 256 << 10})
	fast := ts.dial(t, nil)
	subscribe(fast, "firehose")

	// A client that subscribes and then never reads again: once the
	// socket buffers are full, its queue overflows.
	slow := ts.dial(t, nil)
	subscribe(slow, "firehose")

	payload := strings.Repeat("p", 16<<10)
	const n = 1500
	var progress atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the fast client drains while we publish
		defer wg.Done()
		for i := range n {
			f, err := fast.TryRead()
			var d struct {
				I int `json:"i"`
			}
			if err == nil {
				err = json.Unmarshal(f.Data, &d)
			}
			if err != nil || f.Type != "Tick" || d.I != i {
				t.Errorf("fast client got %s (%v), want Tick %d (order or loss)", f.Raw, err, i)
				return
			}
			progress.Store(int64(i + 1))
		}
	}()
	for i := range n {
		// Keep the fast client within a few frames of the publisher so
		// only the stalled client can overflow.
		eventually(t, "fast client keeps up", func() bool { return progress.Load() >= int64(i-4) })
		if err := ts.b.Channel("firehose").Emit("Tick", map[string]any{"i": i, "p": payload}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	eventually(t, "slow consumer closed", func() bool { return ts.Stats().SlowClosed == 1 })
	eventually(t, "slow consumer unsubscribed", func() bool { return ts.hub.Count("firehose") == 1 })
	// Its close frame sits behind megabytes it never read, so the server
	// cut the socket after the close grace; it is fully released.
	eventually(t, "slow consumer released", func() bool { return ts.ConnectionCount() == 1 })
	fast.RoundTrip()
}

// A client whose queue passes the hard cap in a burst, while its socket
// can still take bytes, reads the slow-consumer error code in the close
// frame.
func TestSlowConsumerCloseCode(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{MaxQueueBytes: 1024, MaxQueueBurstBytes: 1024})
	c := ts.dial(t, nil)
	subscribe(c, "big")
	if err := ts.b.Channel("big").Emit("Huge", strings.Repeat("x", 2048)); err != nil {
		t.Fatal(err)
	}
	if code := c.ExpectClose(); code != CodeSlowConsumer {
		t.Fatalf("close code %d, want %d", code, CodeSlowConsumer)
	}
	if got := ts.Stats().SlowClosed; got != 1 {
		t.Fatalf("SlowClosed = %d", got)
	}
}

func TestVanishedClientIsCleanedUp(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	c := ts.dial(t, nil)
	subscribe(c, "orders")
	_ = c.WS.NetConn().Close() // no close frame
	eventually(t, "subscription removed", func() bool { return ts.hub.Count("orders") == 0 })
	eventually(t, "connection released", func() bool { return ts.ConnectionCount() == 0 })
}

func TestClientCloseFrame(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	c := ts.dial(t, nil)
	subscribe(c, "orders")
	_ = c.WS.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"))
	if code := c.ExpectClose(); code != websocket.CloseNormalClosure {
		t.Fatalf("echoed close code %d", code)
	}
	eventually(t, "connection released", func() bool { return ts.ConnectionCount() == 0 })
}

func TestOriginPolicy(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		allowed []string
		origin  string
		ok      bool
	}{
		{"same origin by default", nil, "SAME", true},
		{"other origin refused by default", nil, "http://evil.example", false},
		{"allow-listed", []string{"http://localhost:3000"}, "http://localhost:3000", true},
		{"not in list", []string{"http://localhost:3000"}, "http://localhost:3001", false},
		{"wildcard", []string{"*"}, "http://anything.example", true},
		{"no origin header (non-browser)", nil, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, Config{AllowedOrigins: tc.allowed})
			hdr := http.Header{}
			switch tc.origin {
			case "SAME":
				hdr.Set("Origin", ts.http.URL)
			case "":
			default:
				hdr.Set("Origin", tc.origin)
			}
			c := wstest.DialRaw(t, ts.url, hdr)
			f := c.Read()
			if tc.ok {
				if f.Type != "connected" {
					t.Fatalf("got %s, want connected", f.Raw)
				}
				return
			}
			if f.Type != "error" || !strings.Contains(string(f.Data), "4009") {
				t.Fatalf("got %s, want error 4009", f.Raw)
			}
			if code := c.ExpectClose(); code != CodeUnauthorized {
				t.Fatalf("close code %d, want 4009", code)
			}
		})
	}
}

func TestMaxConnections(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{MaxConnections: 1})
	ts.dial(t, nil)
	c := wstest.DialRaw(t, ts.url, nil)
	c.Expect("error")
	if code := c.ExpectClose(); code != CodeOverCapacity {
		t.Fatalf("close code %d, want %d", code, CodeOverCapacity)
	}
}

func TestShutdownClosesWith4200(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	c := ts.dial(t, nil)
	subscribe(c, "orders")
	done := make(chan error, 1)
	go func() { done <- ts.Shutdown(t.Context()) }()
	if code := c.ExpectClose(); code != CodeShutdown {
		t.Fatalf("close code %d, want 4200", code)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := ts.b.Channel("orders").Emit("AfterShutdown", 1); !errors.Is(err, broadcast.ErrClosed) {
		t.Fatalf("Emit after shutdown = %v, want ErrClosed", err)
	}
	// New upgrades are refused.
	if _, resp, err := websocket.DefaultDialer.Dial(ts.url, nil); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after shutdown: %v", err)
	}
}

// A client that sends requests and never reads the answers is closed as
// a slow consumer: answers count against the same queue bound as events.
func TestControlFramesAreBounded(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{MaxQueueBytes: 4096, SendBuffer: 4096, MaxInboundRate: -1})
	// A client that never reads: its kernel's receive window stays at
	// its initial size, so the server's answers pile up in its queue.
	ws, _, err := websocket.DefaultDialer.Dial(ts.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ping := []byte(`{"type":"ping"}`)
	_ = ws.SetWriteDeadline(time.Now().Add(20 * time.Second))
	for range 50000 { // 850 KB of answers
		if err := ws.WriteMessage(websocket.TextMessage, ping); err != nil {
			break // the server gave up on us
		}
	}
	eventually(t, "the flooding client closed as slow", func() bool { return ts.Stats().SlowClosed == 1 })
	eventually(t, "its connection released", func() bool { return ts.ConnectionCount() == 0 })
}

// A client over the inbound rate is read more slowly, not dropped: every
// request is answered, and another client meanwhile is served at once.
func TestInboundRateThrottlesOnlyTheSender(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{MaxInboundRate: 20})
	flood, other := ts.dial(t, nil), ts.dial(t, nil)
	const n = 60 // a burst of 40, then 20 more at 20/s
	for range n {
		flood.Send(`{"type":"ping"}`)
	}
	other.RoundTrip()
	for range n {
		flood.Expect("pong")
	}
	if st := ts.Stats(); st.SlowClosed != 0 || st.Connections != 2 {
		t.Fatalf("stats %+v", st)
	}
}
