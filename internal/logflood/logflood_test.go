package logflood

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// A flood of one message passes a burst per interval, and the next
// interval says how many were held back; other messages are not held.
func TestFloodIsLimited(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	c := &clock{t: time.Unix(1e9, 0)}
	log := slog.New(New(slog.NewTextHandler(&buf, nil), 3, time.Second, c.now))
	for i := range 1000 {
		log.Warn("bad frame", "i", i)
	}
	log.Warn("redis down")
	if n := strings.Count(buf.String(), "bad frame"); n != 3 {
		t.Fatalf("%d records of the flood passed, want 3:\n%s", n, buf.String())
	}
	if !strings.Contains(buf.String(), "redis down") {
		t.Fatal("another message was held back")
	}
	c.add(time.Second)
	log.Warn("bad frame", "i", 1000)
	if !strings.Contains(buf.String(), "suppressed=997") {
		t.Fatalf("no suppressed count:\n%s", buf.String())
	}
}

// Distinct messages cannot grow the handler's state past its bound.
func TestDistinctMessagesBounded(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	c := &clock{t: time.Unix(1e9, 0)}
	h := New(slog.NewTextHandler(&buf, nil), 1, time.Minute, c.now)
	log := slog.New(h).With("socket_id", "1.2")
	for i := range 3 * maxKeys {
		log.Info(fmt.Sprint("message ", i))
	}
	if n := len(h.state.windows); n > maxKeys {
		t.Fatalf("%d windows kept, bound %d", n, maxKeys)
	}
	if err := h.Handle(context.Background(), slog.NewRecord(c.now(), slog.LevelInfo, "x", 0)); err != nil {
		t.Fatal(err)
	}
}

// Wrap and Logger wrap once.
func TestWrapOnce(t *testing.T) {
	t.Parallel()
	l := Logger(nil)
	if Logger(l) != l {
		t.Fatal("Logger wrapped a wrapped logger again")
	}
	if h := Wrap(l.Handler()); h != l.Handler() {
		t.Fatal("Wrap wrapped a wrapped handler again")
	}
}
