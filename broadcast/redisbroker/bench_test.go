package redisbroker

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// cmdCounter is a go-redis hook counting commands and round trips.
type cmdCounter struct{ cmds, trips atomic.Int64 }

func (h *cmdCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *cmdCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.cmds.Add(1)
		h.trips.Add(1)
		return next(ctx, cmd)
	}
}

func (h *cmdCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.cmds.Add(int64(len(cmds)))
		h.trips.Add(1)
		return next(ctx, cmds)
	}
}

// BenchmarkCrossNodeFanout emits on node A to channels that subs
// WebSocket clients of node B are subscribed to, and waits until every
// frame arrived. It reports deliveries/s and the Redis commands and
// round trips node A issues per emit.
func BenchmarkCrossNodeFanout(b *testing.B) {
	for _, bc := range []struct{ subs, channels int }{{1, 1}, {100, 1}, {1000, 1}, {100, 3}} {
		b.Run(fmt.Sprintf("subs=%d/channels=%d", bc.subs, bc.channels), func(b *testing.B) {
			benchFanout(b, bc.subs, bc.channels)
		})
	}
}

func benchFanout(b *testing.B, subs, nch int) {
	url := redisURL(b)
	prefix := testPrefix(b, url)
	counter := &cmdCounter{}
	client := rawClient(b, url)
	client.AddHook(counter)
	nodeA := newNode(b, url, prefix, func(o *Options) { o.Client = client })
	nodeB := newNode(b, url, prefix, nil)
	channels := make([]string, nch)
	for i := range channels {
		channels[i] = fmt.Sprintf("fan.%d", i)
	}
	counts := make([]atomic.Int64, subs) // frames received per client
	var wg sync.WaitGroup
	for i := range subs {
		c := nodeB.dial(b, "")
		for _, ch := range channels {
			c.subscribe(ch)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if _, _, err := c.ws.ReadMessage(); err != nil {
					return
				}
				counts[i].Add(1)
			}
		}()
		b.Cleanup(func() { c.ws.Close() })
	}
	b.Cleanup(wg.Wait)
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
	cmds0, trips0 := counter.cmds.Load(), counter.trips.Load()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := pending.Emit("tick", i); err != nil {
			b.Fatal(err)
		}
		if i%64 == 63 { // keep the clients' queues bounded
			waitFor(int64(i-255) * int64(nch))
		}
	}
	waitFor(int64(b.N) * int64(nch))
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(int64(b.N)*int64(subs*nch))/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(counter.cmds.Load()-cmds0)/float64(b.N), "redis-cmds/emit")
	b.ReportMetric(float64(counter.trips.Load()-trips0)/float64(b.N), "round-trips/emit")
}
