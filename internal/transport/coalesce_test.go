package transport

import (
	"bytes"
	"testing"
	"time"

	"github.com/velocitykode/velocity/internal/wsframe"
)

// Coalescing never holds more than one write: a busy connection whose
// held frames pass the write size is written at once, not when the
// coalescing wait ends (an hour here).
func TestCoalescingFlushesAtWriteSize(t *testing.T) {
	t.Parallel()
	cfg := testConfig
	cfg.WriteCoalesce = time.Hour
	client, h := serveWith(t, cfg)
	if !h.c.FastPath() {
		t.Skip("no flusher on this system: every write has its own goroutine")
	}
	read := func(want []byte) {
		t.Helper()
		_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, got, err := client.ReadMessage()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("read %.20q (%v), want %.20q", got, err, want)
		}
	}
	// Two frames written at once make the connection busy: the next
	// ones are held for coalescing.
	for _, m := range []string{"one", "two"} {
		h.c.Send(wsframe.Text([]byte(m)))
		read([]byte(m))
	}
	held := []byte("three")
	big := bytes.Repeat([]byte("x"), maxCoalesce+1)
	h.c.Send(wsframe.Text(held))
	h.c.Send(wsframe.Text(big))
	read(held)
	read(big)
}

// A keyed frame queued for a channel the connection left is never
// replaced by a keyed frame sent after it: both arrive, in order.
func TestForgetKeysEndsConflation(t *testing.T) {
	t.Parallel()
	cfg := testConfig
	cfg.MaxQueueBytes, cfg.MaxQueueBurstBytes = 1024, 1<<20
	client, h := serveWith(t, cfg)
	c := h.c
	// Hold the writer so that frames stay queued: the test owns writing.
	c.mu.Lock()
	c.writing = true
	c.mu.Unlock()
	pad := bytes.Repeat([]byte("p"), 2048) // past the soft bound at once
	c.Send(wsframe.Text(pad))
	c.SendKeyed(wsframe.Text([]byte("old")), "prices", "AAPL")
	c.ForgetKeys("prices")
	c.SendKeyed(wsframe.Text([]byte("new")), "prices", "AAPL")
	c.SendKeyed(wsframe.Text([]byte("newer")), "prices", "AAPL") // replaces "new"
	c.mu.Lock()
	c.writing = false
	start := c.startWriterLocked()
	c.mu.Unlock()
	if start {
		c.startWriter(false)
	}
	for _, want := range [][]byte{pad, []byte("old"), []byte("newer")} {
		_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, got, err := client.ReadMessage()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("read %.20q (%v), want %.20q", got, err, want)
		}
	}
	if n := c.pool.Counters.Conflated.Load(); n != 1 {
		t.Fatalf("Conflated = %d, want 1", n)
	}
}
