package websocket

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/internal/wstest"
)

// resyncClose is how one connection ended.
type resyncClose struct {
	code     int  // close code
	errFrame bool // an error frame with CodeResync came first
	at       time.Time
	err      error
}

// readUntilClose reads c until the server closes it.
func readUntilClose(c *wstest.Client) resyncClose {
	var r resyncClose
	for {
		f, err := c.TryRead()
		var ce *websocket.CloseError
		switch {
		case errors.As(err, &ce):
			r.code, r.at = ce.Code, time.Now()
			return r
		case err != nil:
			r.err = err
			return r
		case f.Type == "error" && f.Code() == CodeResync:
			r.errFrame = true
		}
	}
}

// A resync from the broker closes every local subscriber of its channels
// with 4202, after an error frame saying why, at moments spread over
// ResyncWindow; other connections stay.
func TestResyncClosesSubscribersSpreadOverWindow(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	const n = 20
	results := make(chan resyncClose, n)
	for range n {
		c := ts.dial(t, nil)
		subscribe(c, "feed")
		subscribe(c, "feed-2") // on both: closed once
		go func() { results <- readUntilClose(c) }()
	}
	other, idle := ts.dial(t, nil), ts.dial(t, nil)
	subscribe(other, "elsewhere")

	start := time.Now()
	ts.deliver(&broker.Envelope{Message: broadcast.Message{Channels: []string{"feed", "feed-2"}, Event: broker.EventResync}})
	var times []time.Duration
	for range n {
		r := <-results
		if r.err != nil || r.code != CodeResync || !r.errFrame {
			t.Fatalf("connection ended with code %d (error frame %v): %v", r.code, r.errFrame, r.err)
		}
		times = append(times, r.at.Sub(start))
	}
	slices.Sort(times)
	if last := times[n-1]; last > ResyncWindow+time.Second {
		t.Fatalf("last close %s after the resync, window %s", last, ResyncWindow)
	}
	if spread := times[n-1] - times[0]; spread < ResyncWindow/10 {
		t.Fatalf("%d closes within %s: not spread over the window", n, spread)
	}
	t.Logf("closes from %s to %s after the resync", times[0].Round(time.Millisecond), times[n-1].Round(time.Millisecond))
	other.RoundTrip()
	idle.RoundTrip()
	if err := ts.b.Channel("elsewhere").Emit("still", 1); err != nil {
		t.Fatal(err)
	}
	other.Expect("still")
}

// A Pusher client gets 4202 as is: pusher-js reconnects at once on
// 4200–4299.
func TestResyncClosesPusherClientWith4202(t *testing.T) {
	t.Parallel()
	ps := newPusherServer(t, Config{})
	c := ps.dialPusher(t)
	c.subscribe("feed", "", "")
	c.expect("pusher_internal:subscription_succeeded")
	ps.deliver(&broker.Envelope{Message: broadcast.Message{Channels: []string{"feed"}, Event: broker.EventResync}})
	if m := c.expect("pusher:error"); m.errorCode(t) != CodeResync {
		t.Fatalf("error frame %s", m.raw)
	}
	if code := c.expectClose(); code != CodeResync {
		t.Fatalf("close code %d, want %d", code, CodeResync)
	}
}
