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
