//go:build unix

package redisbroker

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	ws "github.com/velocitykode/velocity/broadcast/websocket"
	"github.com/velocitykode/velocity/internal/testenv"
	"github.com/velocitykode/velocity/internal/wstest"
)

// ticks collects the sequence numbers one client receives until its
// connection closes.
type ticks struct {
	mu   sync.Mutex
	got  map[int]bool
	code int   // close code
	err  error // a read error other than a close
	done chan struct{}
}

func readTicks(c *client, d time.Duration) *ticks {
	tk := &ticks{got: make(map[int]bool), done: make(chan struct{})}
	go func() {
		defer close(tk.done)
		deadline := time.Now().Add(d)
		for {
			f, err := c.tryRead(time.Until(deadline))
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				tk.code = ce.Code
				return
			}
			if err != nil {
				tk.err = err
				return
			}
			var n int
			if f.Type == "tick" && json.Unmarshal(f.Data, &n) == nil {
				tk.mu.Lock()
				tk.got[n] = true
				tk.mu.Unlock()
			}
		}
	}()
	return tk
}

func (tk *ticks) count() int {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	return len(tk.got)
}

// TestFrozenRedisSubscribersResync freezes Redis (SIGSTOP) while node A
// publishes 100 messages a second to a channel that a client of node B
// follows. B's pub/sub connection goes silent and is replaced; publishes
// that Redis acknowledged once it resumed, but before B had resubscribed,
// never reach B. B's client must learn it: it is closed with 4202 so that
// it reconnects and refetches.
func TestFrozenRedisSubscribersResync(t *testing.T) {
	t.Parallel()
	rs := testenv.StartRedis(t)
	prefix := testPrefix(t, rs.URL())
	fast := func(o *Options) { o.CleanupBound = 3 * time.Second; o.Timeout = 300 * time.Millisecond }
	a, b := newNode(t, rs.URL(), prefix, fast), newNode(t, rs.URL(), prefix, fast)
	bob := b.dial(t, "bob")
	bob.subscribe("ticks")
	idle := b.dial(t, "idle") // subscribed to nothing: not affected
	tk := readTicks(bob, 30*time.Second)

	pub := wstest.StartPublisher(10*time.Millisecond, func(i int) error { return a.b.Channel("ticks").Emit("tick", i) })
	defer pub.Stop()
	wstest.EventuallyWithin(t, 5*time.Second, "ticks flowing", func() bool { return tk.count() >= 10 })

	rs.Freeze()
	wstest.EventuallyWithin(t, 5*time.Second, "B's pub/sub connection replaced", func() bool {
		err := b.br.health.Err()
		return err != nil && strings.Contains(err.Error(), "pubsub/0")
	})
	rs.Thaw()
	wstest.EventuallyWithin(t, 10*time.Second, "B healthy again", func() bool { return b.br.Healthy() })
	resumed := time.Now()

	select {
	case <-tk.done:
	case <-time.After(ws.ResyncWindow + 5*time.Second):
		t.Fatalf("bob was not told within %s of the resubscription; he got %d ticks", ws.ResyncWindow+5*time.Second, tk.count())
	}
	if tk.err != nil || tk.code != ws.CodeResync {
		t.Fatalf("bob's connection ended with code %d: %v, want %d", tk.code, tk.err, ws.CodeResync)
	}
	missed := 0
	acked := pub.Acked()
	tk.mu.Lock()
	for _, i := range acked {
		if !tk.got[i] {
			missed++
		}
	}
	tk.mu.Unlock()
	t.Logf("closed with 4202 %s after B resubscribed; %d acknowledged publishes had not reached bob",
		time.Since(resumed).Round(time.Millisecond), missed)
	if !b.logs.Contains("subscription was interrupted") {
		t.Fatal("the interruption was not logged")
	}
	idle.quiet()

	// Reconnected and resubscribed, a client gets the messages again.
	// Ticks keep flowing, so one may come before a pong: no subscribe().
	bob2 := b.dial(t, "bob")
	bob2.send(`{"type":"subscribe","data":{"channel":"ticks"}}`)
	bob2.expect("subscription_succeeded")
	bob2.waitFor("a tick after resubscribing", func(f frame) bool { return f.Type == "tick" })
}

// expectResync reads c until the server closes it and checks that it was
// told to resubscribe: an error frame with 4202, then close code 4202.
func expectResync(t *testing.T, c *client) {
	t.Helper()
	told := false
	deadline := time.Now().Add(ws.ResyncWindow + 5*time.Second)
	for {
		f, err := c.tryRead(time.Until(deadline))
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			if ce.Code != ws.CodeResync || !told {
				t.Fatalf("closed with %d (error frame with 4202 first: %v), want %d", ce.Code, told, ws.CodeResync)
			}
			return
		}
		if err != nil {
			t.Fatalf("waiting for the resync close: %v", err)
		}
		if f.Type == "error" && strings.Contains(f.raw, `"code":4202`) {
			told = true
		}
	}
}

// followsUntil reads c until a frame of type typ (true) or an error frame,
// a close or 5 s of silence (false).
func followsUntil(c *client, typ string) bool {
	for {
		f, err := c.tryRead(5 * time.Second)
		if err != nil || f.Type == "error" {
			return false
		}
		if f.Type == typ {
			return true
		}
	}
}
