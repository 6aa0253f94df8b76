//go:build unix

package enginebench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast"
	ws "github.com/velocitykode/velocity/broadcast/websocket"
	"github.com/velocitykode/velocity/internal/wstest"
)

// BenchmarkCrossNodeFanout emits on node A to channels that subs
// WebSocket clients of node B are subscribed to, and waits until every
// frame arrived, for each engine on a server of the benchmark's own. It
// reports deliveries/s, the round trips node A makes to its engine per
// emit (Redis commands or pipelines; NATS flushes) and engine-msgs/emit
// (Redis commands; NATS messages published), background work (node
// heartbeats) included, and emit-µs, the time node A's Emit takes.
func BenchmarkCrossNodeFanout(b *testing.B) {
	for _, e := range engines {
		b.Run("engine="+e.name, func(b *testing.B) {
			url := e.server(b)
			for _, bc := range []struct{ subs, channels int }{{1, 1}, {100, 1}, {1000, 1}, {100, 3}} {
				b.Run(fmt.Sprintf("subs=%d/channels=%d", bc.subs, bc.channels), func(b *testing.B) {
					benchFanout(b, e, url, bc.subs, bc.channels)
				})
			}
		})
	}
}

// node is one app process: a WebSocket server on the engine and its
// Broadcaster, served over HTTP.
type node struct {
	srv *ws.Server
	b   *broadcast.Broadcaster
	url string
}

func newNode(t testing.TB, e engine, url, prefix string, trips *tripCounter) *node {
	t.Helper()
	br, presence := e.broker(t, url, prefix, trips)
	srv, err := ws.NewServer(ws.Config{}, ws.WithBroker(br), ws.WithPresenceStore(presence), ws.WithLogger(quiet))
	if err != nil {
		_ = br.Close()
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		hs.Close()
	})
	return &node{srv: srv, b: broadcast.New(srv), url: "ws" + strings.TrimPrefix(hs.URL, "http")}
}

// prefix returns a key/subject prefix of its own, so that the runs of a
// benchmark on one server do not see each other.
func prefix() string {
	var p [6]byte
	_, _ = rand.Read(p[:])
	return "bench_" + hex.EncodeToString(p[:])
}

func benchFanout(b *testing.B, e engine, url string, subs, nch int) {
	p := prefix()
	trips := &tripCounter{}
	nodeA := newNode(b, e, url, p, trips)
	nodeB := newNode(b, e, url, p, nil)
	channels := make([]string, nch)
	for i := range channels {
		channels[i] = fmt.Sprintf("fan.%d", i)
	}
	counts := make([]atomic.Int64, subs) // frames received per client
	var wg sync.WaitGroup
	b.Cleanup(wg.Wait) // after the clients' cleanups below have closed them
	for i := range subs {
		c := wstest.Dial(b, nodeB.url, nil)
		for _, ch := range channels {
			if f := c.Subscribe(ch, "", ""); f.Type != "subscription_succeeded" {
				b.Fatalf("subscribe %s: %s", ch, f.Raw)
			}
		}
		c.RoundTrip()
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.WS.SetReadDeadline(time.Time{})
			for {
				if _, _, err := c.WS.ReadMessage(); err != nil {
					return
				}
				counts[i].Add(1)
			}
		}()
		b.Cleanup(func() { c.WS.Close() })
	}
	pending := nodeA.b.Channel(channels...)
	// waitFor waits until every client received n frames.
	waitFor := func(n int64) {
		deadline := time.Now().Add(30 * time.Second)
		for i := range counts {
			for counts[i].Load() < n {
				if time.Now().After(deadline) {
					b.Fatalf("client %d received %d of %d frames; %+v", i, counts[i].Load(), n, nodeB.srv.Stats())
				}
				time.Sleep(50 * time.Microsecond)
			}
		}
	}
	trips0, msgs0 := trips.snapshot()
	b.ResetTimer()
	start := time.Now()
	var inEmit time.Duration // the emitter's own wait: broker publish and round trip
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := pending.Emit("tick", i); err != nil {
			b.Fatal(err)
		}
		inEmit += time.Since(t0)
		if i%64 == 63 { // keep the clients' queues bounded
			waitFor(int64(i-255) * int64(nch))
		}
	}
	waitFor(int64(b.N) * int64(nch))
	elapsed := time.Since(start)
	b.StopTimer()
	trips1, msgs1 := trips.snapshot()
	b.ReportMetric(float64(int64(b.N)*int64(subs*nch))/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(trips1-trips0)/float64(b.N), "round-trips/emit")
	b.ReportMetric(float64(msgs1-msgs0)/float64(b.N), "engine-msgs/emit")
	b.ReportMetric(float64(inEmit.Microseconds())/float64(b.N), "emit-µs")
}
