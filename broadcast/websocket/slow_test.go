package websocket

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A burst the server itself produces never closes a reader that keeps
// reading: with the default bounds, 3,000 events of 1, 4 and 8 KiB
// emitted in one loop reach a fast reader in full and in order, while a
// reader that stalled is closed as a slow consumer once it made no
// progress for the write timeout.
func TestBurstSparesReadersThatKeepReading(t *testing.T) {
	t.Parallel()
	for _, size := range []int{1 << 10, 4 << 10, 8 << 10} {
		t.Run(fmt.Sprintf("%dKiB", size>>10), func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, Config{WriteTimeout: 2 * time.Second})
			fast := ts.dial(t, nil)
			subscribe(fast, "burst")
			stalled := ts.dial(t, nil)
			subscribe(stalled, "burst")

			const n = 3000
			payload := strings.Repeat("b", size)
			got := make(chan error, 1)
			go func() {
				for i := range n {
					f, err := fast.TryRead()
					if err != nil {
						got <- fmt.Errorf("fast reader: event %d: %w", i, err)
						return
					}
					if f.Type != "Tick" || eventIndex(t, f.Data) != i {
						got <- fmt.Errorf("fast reader: got %.80s, want Tick %d", f.Raw, i)
						return
					}
				}
				got <- nil
			}()
			for i := range n {
				if err := ts.b.Channel("burst").Emit("Tick", map[string]any{"i": i, "p": payload}); err != nil {
					t.Fatal(err)
				}
			}
			if err := <-got; err != nil {
				t.Fatal(err)
			}
			eventually(t, "the stalled reader closed as slow", func() bool { return ts.Stats().SlowClosed == 1 })
			fast.RoundTrip()
		})
	}
}

// A reader that fell behind gets the latest value per conflation key
// instead of being disconnected: the stalled reader's queued updates of
// a key are replaced by newer ones, its events without a key all arrive
// in order, and it stays connected.
func TestConflationKeepsTheLatestValuePerKey(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{MaxQueueBytes: 16 << 10, SendBuffer: 4096})
	slow := ts.dial(t, nil)
	subscribe(slow, "prices")

	const updates, keys, markEvery = 20000, 10, 1000
	pad := strings.Repeat("p", 80)
	for i := range updates {
		key := fmt.Sprintf("k%d", i%keys)
		if err := ts.b.Channel("prices").Conflate(key).Emit("Price", map[string]any{"i": i, "k": key, "p": pad}); err != nil {
			t.Fatal(err)
		}
		if i%markEvery == 0 {
			if err := ts.b.Channel("prices").Emit("Marker", map[string]any{"i": i}); err != nil {
				t.Fatal(err)
			}
		}
	}
	last := map[string]int{}
	frames, marker := 0, -markEvery
	for len(last) < keys || anyBelow(last, updates-keys) || marker < updates-markEvery {
		f, err := slow.TryRead()
		if err != nil {
			t.Fatalf("after %d frames: %v (latest per key %v)", frames, err, last)
		}
		frames++
		var d struct {
			I int
			K string
		}
		if err := json.Unmarshal(f.Data, &d); err != nil {
			t.Fatal(err)
		}
		switch f.Type {
		case "Marker":
			if d.I != marker+markEvery {
				t.Fatalf("marker %d after %d: events without a key must all arrive in order", d.I, marker)
			}
			marker = d.I
		case "Price":
			if prev, ok := last[d.K]; ok && d.I <= prev {
				t.Fatalf("key %s went from %d back to %d", d.K, prev, d.I)
			}
			last[d.K] = d.I
		}
	}
	if marker != updates-markEvery {
		t.Fatalf("last marker %d, want %d", marker, updates-markEvery)
	}
	st := ts.Stats()
	if st.Conflated == 0 || frames >= updates || st.SlowClosed != 0 {
		t.Fatalf("read %d frames for %d updates; stats %+v", frames, updates, st)
	}
	slow.RoundTrip()
}

func anyBelow(m map[string]int, floor int) bool {
	for _, v := range m {
		if v < floor {
			return true
		}
	}
	return false
}
