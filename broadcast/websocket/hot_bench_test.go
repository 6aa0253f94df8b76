package websocket

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast"
)

// BenchmarkHotPublish is BenchmarkFanoutHot without sockets: 2,000
// in-process subscribers whose queues accept every frame, so what it
// measures is the publish path itself (sequencing, hub fan-out) under
// concurrent publishers of one channel.
func BenchmarkHotPublish(b *testing.B) {
	const n = 2000
	for _, hist := range []bool{false, true} {
		b.Run(fmt.Sprintf("history=%v", hist), func(b *testing.B) {
			var cfg Config
			if hist {
				cfg.History = []broadcast.HistoryRule{{Pattern: "bench", Size: 1000, TTL: 5 * time.Minute}}
			}
			ts := newTestServer(b, cfg)
			var got atomic.Int64
			for range n {
				ts.hub.Add("bench", &countSub{id: broadcast.NewSocketID(), got: &got})
			}
			// The channel's state as a join leaves it: one local
			// subscription, the node subscribed.
			i := ts.stripe("bench")
			ts.stripes.mu[i].Lock()
			st := ts.stateLocked(i, "bench")
			st.refs++
			st.subscribed = true
			ts.stripes.mu[i].Unlock()
			benchHotEmits(b, ts, func(emits int) {
				// A publisher may return before its publication is
				// delivered (by the publisher delivering the channel's).
				deadline := time.Now().Add(10 * time.Second)
				for got.Load() < int64(emits)*n {
					if time.Now().After(deadline) {
						b.Errorf("%d frames, want %d", got.Load(), int64(emits)*n)
						return
					}
					runtime.Gosched()
				}
			}, n)
		})
	}
}

// countSub is a subscriber that counts what it is sent, safe for
// concurrent publishers.
type countSub struct {
	id  string
	got *atomic.Int64
}

func (s *countSub) SocketID() string                     { return s.id }
func (s *countSub) Codec() int                           { return 0 }
func (s *countSub) Send([]byte) bool                     { s.got.Add(1); return true }
func (s *countSub) SendKeyed(f []byte, _, _ string) bool { return s.Send(f) }
