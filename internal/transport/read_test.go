package transport

import (
	"testing"
	"time"
)

// The inbound limiter lets a burst of twice the rate through, then one
// frame per 1/rate, and refills while the client is quiet.
func TestInboundLimiter(t *testing.T) {
	t.Parallel()
	var l inboundLimiter
	now := time.Unix(1000, 0)
	for i := range 20 {
		if w := l.take(10, now); w != 0 {
			t.Fatalf("frame %d of the burst waits %s", i, w)
		}
	}
	if w := l.take(10, now); w < 99*time.Millisecond || w > 101*time.Millisecond {
		t.Fatalf("first frame past the burst waits %s, want 100ms", w)
	}
	now = now.Add(100 * time.Millisecond) // it slept
	if w := l.take(10, now); w < 99*time.Millisecond || w > 101*time.Millisecond {
		t.Fatalf("next frame waits %s, want 100ms", w)
	}
	now = now.Add(time.Hour) // quiet: the bucket is full again, no more
	for i := range 20 {
		if w := l.take(10, now); w != 0 {
			t.Fatalf("after a pause, frame %d waits %s", i, w)
		}
	}
	if w := l.take(10, now); w == 0 {
		t.Fatal("the burst grew past twice the rate")
	}
	if w := (&inboundLimiter{}).take(0, now); w != 0 {
		t.Fatalf("rate 0 (no limit) waits %s", w)
	}
}
