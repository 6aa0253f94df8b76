package websocket

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/internal/wstest"
)

// A client that stops reading long enough to fill its socket, then reads
// again, gets every event in order: the write that could not finish moves
// to a writer goroutine and nothing is lost or repeated on the way back.
func TestStalledReaderResumesInOrder(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{SendBuffer: 4096, MaxQueueBytes: 8 << 20})
	c := ts.dial(t, nil)
	subscribe(c, "stall")
	other := ts.dial(t, nil)
	subscribe(other, "stall")

	payload := strings.Repeat("s", 1024)
	const n = 1000
	done := make(chan struct{})
	go func() { // the other subscriber reads throughout
		defer close(done)
		for i := range n {
			f, err := other.TryRead()
			var d struct{ I int }
			if err == nil {
				err = json.Unmarshal(f.Data, &d)
			}
			if err != nil || f.Type != "Tick" || d.I != i {
				t.Errorf("reading client got %s (%v), want Tick %d", f.Raw, err, i)
				return
			}
		}
	}()
	for i := range n {
		if err := ts.b.Channel("stall").Emit("Tick", map[string]any{"i": i, "p": payload}); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	if fastPath(ts) && ts.Stats().WriteStalls == 0 {
		t.Fatalf("1000 KiB to a client that did not read never filled its socket")
	}
	for i := range n {
		if got := eventIndex(t, c.Expect("Tick").Data); got != i {
			t.Fatalf("resumed client got %d, want %d", got, i)
		}
	}
	c.RoundTrip()
}

// With a write delay, events still arrive complete and in order.
func TestWriteDelayKeepsOrder(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{WriteDelay: 5 * time.Millisecond})
	a, b := ts.dial(t, nil), ts.dial(t, nil)
	subscribe(a, "delayed")
	subscribe(b, "delayed")
	const n = 200
	for i := range n {
		if err := ts.b.Channel("delayed").Emit("Tick", map[string]any{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if got := eventIndex(t, a.Expect("Tick").Data); got != i {
			t.Fatalf("client a got %d, want %d", got, i)
		}
		if got := eventIndex(t, b.Expect("Tick").Data); got != i {
			t.Fatalf("client b got %d, want %d", got, i)
		}
	}
}

func TestWriteDelayBounds(t *testing.T) {
	for _, d := range []time.Duration{-time.Millisecond, 2 * time.Second} {
		if _, err := NewServer(Config{WriteDelay: d}); err == nil {
			t.Errorf("WriteDelay %s accepted", d)
		}
	}
	if _, err := NewServer(Config{WriteCoalesce: 2 * time.Second}); err == nil {
		t.Error("WriteCoalesce 2s accepted")
	}
}

// fastPath reports whether ts's connections are written by flushers
// (Linux); elsewhere every connection has its own writer and nothing
// stalls a flusher.
func fastPath(ts *testServer) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for c := range ts.conns {
		return c.FastPath()
	}
	return false
}

func eventIndex(t *testing.T, data json.RawMessage) int {
	t.Helper()
	var d struct {
		I int `json:"i"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("event data %s: %v", data, err)
	}
	return d.I
}

// A frame that breaks RFC 6455 (here: unmasked, from a client) closes
// that connection with 1002; a client on the same channel is unaffected.
func TestProtocolErrorCloses1002(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	bad, good := ts.dial(t, nil), ts.dial(t, nil)
	subscribe(bad, "shared")
	subscribe(good, "shared")
	if _, err := bad.WS.NetConn().Write([]byte{0x81, 0x02, 'h', 'i'}); err != nil {
		t.Fatal(err)
	}
	if code := bad.ExpectClose(); code != 1002 {
		t.Fatalf("close code %d, want 1002", code)
	}
	if err := ts.b.Channel("shared").Emit("Tick", map[string]any{"i": 7}); err != nil {
		t.Fatal(err)
	}
	if got := eventIndex(t, good.Expect("Tick").Data); got != 7 {
		t.Fatalf("other client got %d", got)
	}
	eventually(t, "bad connection released", func() bool { return ts.ConnectionCount() == 1 })
}

// Over TLS served in-process the socket has no file descriptor to write
// to without blocking: every connection writes from its own goroutine,
// with the same order and the same result.
func TestTLSConnectionsUseTheirOwnWriter(t *testing.T) {
	t.Parallel()
	s, err := NewServer(Config{})
	if err != nil {
		t.Fatal(err)
	}
	b := broadcast.New(s)
	hs := httptest.NewTLSServer(s)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		hs.Close()
	})
	d := websocket.Dialer{TLSClientConfig: hs.Client().Transport.(*http.Transport).TLSClientConfig}
	ws, _, err := d.Dial("wss"+strings.TrimPrefix(hs.URL, "https"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	read := func() map[string]any {
		_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		var f map[string]any
		if err := ws.ReadJSON(&f); err != nil {
			t.Fatal(err)
		}
		return f
	}
	if f := read(); f["type"] != "connected" {
		t.Fatalf("first frame %v", f)
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","data":{"channel":"tls"}}`)); err != nil {
		t.Fatal(err)
	}
	if f := read(); f["type"] != "subscription_succeeded" {
		t.Fatalf("subscribe answer %v", f)
	}
	s.mu.Lock()
	for sc := range s.conns {
		if sc.FastPath() {
			t.Error("a TLS connection got a flusher")
		}
	}
	s.mu.Unlock()
	for i := range 100 {
		if err := b.Channel("tls").Emit("Tick", map[string]any{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 100 {
		f := read()
		if d, _ := f["data"].(map[string]any); f["type"] != "Tick" || d["i"] != float64(i) {
			t.Fatalf("frame %d: %v", i, f)
		}
	}
}

// While a presence join is in its window on a channel, a member event
// from another node waits for it, and so does every later message of that
// channel: nothing overtakes the member event. Other channels of the same
// stripe are not held.
func TestParkedMemberEventIsNotOvertaken(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	c := ts.dial(t, nil)
	subscribe(c, "parking-order")
	other := sameStripe(ts.Server, "parking-order", 1)[0]
	o := ts.dial(t, nil)
	subscribe(o, other)
	ts.openWindow("parking-order")
	added := broker.New("parking-order", broker.EventMemberAdded, json.RawMessage(`{"user_id":"x"}`))
	added.Version = 5
	ts.deliver(added)
	ts.deliver(broker.New("parking-order", "client-hi", json.RawMessage(`{}`)))
	ts.deliver(broker.New(other, "client-elsewhere", json.RawMessage(`{}`)))
	o.Expect("client-elsewhere") // not parked behind the window
	i := ts.stripe("parking-order")
	ts.stripes.mu[i].Lock()
	n := len(ts.stripes.chans[i]["parking-order"].parked)
	ts.stripes.mu[i].Unlock()
	ts.closeWindow("parking-order")
	if n != 2 {
		t.Fatalf("%d messages parked, want both", n)
	}
	c.Expect("member_added")
	c.Expect("client-hi")
	// With nothing parked, messages go straight through.
	ts.deliver(broker.New("parking-order", "client-again", json.RawMessage(`{}`)))
	c.Expect("client-again")
}

// sameStripe returns n channel names other than ch on ch's stripe.
func sameStripe(s *Server, ch string, n int) []string {
	var out []string
	for i := 0; len(out) < n; i++ {
		name := fmt.Sprintf("%s-neighbour-%d", ch, i)
		if s.stripe(name) == s.stripe(ch) {
			out = append(out, name)
		}
	}
	return out
}

// Frames of a busy connection wait for each other and still arrive
// complete and in order, interleaved with a rarely written connection.
func TestWriteCoalesceKeepsOrder(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{WriteCoalesce: 20 * time.Millisecond})
	busy, calm := ts.dial(t, nil), ts.dial(t, nil)
	subscribe(busy, "busy")
	subscribe(busy, "calm")
	subscribe(calm, "calm")
	const n = 300
	for i := range n {
		if err := ts.b.Channel("busy").Emit("Tick", map[string]any{"i": i}); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 {
			if err := ts.b.Channel("calm").Emit("Calm", map[string]any{"i": i}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
	}
	next := 0
	for next < n {
		f := busy.Read()
		if f.Type == "Calm" {
			continue
		}
		if got := eventIndex(t, f.Data); f.Type != "Tick" || got != next {
			t.Fatalf("busy client got %s, want Tick %d", f.Raw, next)
		}
		next++
	}
	for i := 0; i < n; i += 50 {
		if got := eventIndex(t, calm.Expect("Calm").Data); got != i {
			t.Fatalf("calm client got %d, want %d", got, i)
		}
	}
}

// A text frame that is not valid UTF-8 fails that connection with 1007
// on both protocols and is relayed to nobody; a subscriber of the same
// channel is unaffected.
func TestInvalidUTF8Closes1007(t *testing.T) {
	t.Parallel()
	ps := newPusherServer(t, Config{})
	good := wstest.Dial(t, ps.base+"/ws", nil)
	subscribe(good, "utf8")
	for _, dial := range []func() *websocket.Conn{
		func() *websocket.Conn { return ps.dialNative(t, "utf8") },
		func() *websocket.Conn { return ps.dialPusher(t).ws },
	} {
		bad := dial()
		if err := bad.WriteMessage(websocket.TextMessage, []byte("{\"type\":\"ping\",\"x\":\"\xff\"}")); err != nil {
			t.Fatal(err)
		}
		_ = bad.SetReadDeadline(time.Now().Add(5 * time.Second))
		var code int
		for {
			_, _, err := bad.ReadMessage()
			if ce, ok := err.(*websocket.CloseError); ok {
				code = ce.Code
				break
			}
			if err != nil {
				t.Fatalf("connection ended without a close frame: %v", err)
			}
		}
		if code != CloseInvalidPayload {
			t.Fatalf("close code %d, want 1007", code)
		}
	}
	if err := ps.b.Channel("utf8").Emit("Tick", map[string]any{"i": 1}); err != nil {
		t.Fatal(err)
	}
	if got := eventIndex(t, good.Expect("Tick").Data); got != 1 {
		t.Fatalf("other client got %d", got)
	}
}
