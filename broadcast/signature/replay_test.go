package signature

import (
	"fmt"
	"testing"
	"time"
)

func sigOf(i int) string { return Sign("secret", fmt.Sprint(i)) }

// A signature is accepted once within its window, and forgotten once no
// request signed then could pass the timestamp check any more.
func TestReplayCacheSeenOnce(t *testing.T) {
	t.Parallel()
	c := NewReplayCache(10, time.Minute)
	now := time.Unix(1_000_000, 0)
	if c.Seen(sigOf(1), now, now) {
		t.Fatal("first request reported as seen")
	}
	if !c.Seen(sigOf(1), now, now.Add(59*time.Second)) {
		t.Fatal("replay within the window accepted")
	}
	if c.Seen(sigOf(2), now, now) {
		t.Fatal("another signature reported as seen")
	}
	// Past the window the timestamp check refuses the request; the cache
	// has dropped it.
	c.Seen(sigOf(3), now.Add(2*time.Minute), now.Add(2*time.Minute))
	if n := c.Len(); n != 1 {
		t.Fatalf("%d entries after the window, want 1", n)
	}
}

// A full cache stays at its capacity: the oldest entry makes room, and
// requests signed at or before it are refused from then on, since the
// cache could no longer recognise their replays.
func TestReplayCacheBounded(t *testing.T) {
	t.Parallel()
	c := NewReplayCache(4, time.Minute)
	t0 := time.Unix(1_000_000, 0)
	for i := range 4 {
		if c.Seen(sigOf(i), t0.Add(time.Duration(i)*time.Second), t0.Add(5*time.Second)) {
			t.Fatalf("request %d reported as seen", i)
		}
	}
	if c.Seen(sigOf(4), t0.Add(5*time.Second), t0.Add(5*time.Second)) {
		t.Fatal("a fresh request was refused when the cache was full")
	}
	if n := c.Len(); n != 4 {
		t.Fatalf("%d entries, want the capacity 4", n)
	}
	// Request 0 was dropped: its replay is refused all the same.
	if !c.Seen(sigOf(0), t0, t0.Add(5*time.Second)) {
		t.Fatal("replay of a dropped request accepted")
	}
	if !c.Seen(sigOf(9), t0, t0.Add(5*time.Second)) {
		t.Fatal("a request signed before the horizon accepted")
	}
	for i := 1; i <= 4; i++ {
		if !c.Seen(sigOf(i), t0.Add(time.Duration(i)*time.Second), t0.Add(6*time.Second)) {
			t.Fatalf("replay of request %d accepted", i)
		}
	}
	// Entries wrap around the ring as it turns.
	for i := 10; i < 30; i++ {
		at := t0.Add(time.Duration(i) * time.Second)
		if c.Seen(sigOf(i), at, at) || !c.Seen(sigOf(i), at, at) {
			t.Fatalf("request %d: not accepted exactly once", i)
		}
	}
	if n := c.Len(); n != 4 {
		t.Fatalf("%d entries, want 4", n)
	}
}

func BenchmarkReplayCacheSeen(b *testing.B) {
	c := NewReplayCache(0, 0)
	sigs := make([]string, 1<<17)
	for i := range sigs {
		sigs[i] = sigOf(i)
	}
	now := time.Unix(1_000_000, 0)
	b.ResetTimer()
	for i := range b.N {
		c.Seen(sigs[i%len(sigs)], now.Add(time.Duration(i/1000)*time.Second), now.Add(time.Duration(i/1000)*time.Second))
	}
}
