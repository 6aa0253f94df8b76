package redisbroker

import (
	"context"
	"slices"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/internal/latency"
)

// Operations the broker counts (broker.OpStats.Op).
const (
	opPublish = iota
	opSubscribe
	opUnsubscribe
	opPresence
	opHistory
	numOps
)

var opNames = [numOps]string{"publish", "subscribe", "unsubscribe", "presence", "history"}

// opCounter counts one kind of operation; it is updated without a lock.
type opCounter struct {
	calls, errors atomic.Uint64
	latency       latency.Histogram
}

var _ broker.Instrumented = (*Broker)(nil)

// observe records one operation of kind op that began at start.
func (b *Broker) observe(op int, start time.Time, err error) {
	c := &b.ops[op]
	c.calls.Add(1)
	if err != nil {
		c.errors.Add(1)
	}
	c.latency.Since(start)
}

// OpStats implements broker.Instrumented: publish, subscribe,
// unsubscribe, presence (member and client-registry scripts) and history
// reads, each counted with its errors and durations.
func (b *Broker) OpStats() []broker.OpStats {
	out := make([]broker.OpStats, numOps)
	for i := range b.ops {
		c := &b.ops[i]
		counts, sum := c.latency.Load()
		out[i] = broker.OpStats{
			Op:      opNames[i],
			Calls:   c.calls.Load(),
			Errors:  c.errors.Load(),
			Latency: broker.Histogram{Bounds: slices.Clone(latency.Bounds[:]), Counts: counts[:], Sum: sum},
		}
	}
	return out
}

// Connected implements broker.Instrumented: Healthy.
func (b *Broker) Connected() bool { return b.Healthy() }

// Publish implements broker.Broker: one PUBLISH (SPUBLISH on Cluster)
// per channel of m, all in one pipeline, with m encoded once. It fails
// within the timeout when Redis is unavailable.
func (b *Broker) Publish(ctx context.Context, m *broker.Envelope) error {
	start := time.Now()
	err := b.publish(ctx, m)
	b.observe(opPublish, start, err)
	return err
}

// History implements broker.Historian.
func (b *Broker) History(ctx context.Context, channel string, q broker.HistoryQuery) (broker.HistoryResult, error) {
	start := time.Now()
	res, err := b.history(ctx, channel, q)
	b.observe(opHistory, start, err)
	return res, err
}

// runScript runs s after the commands pre adds, in one pipeline. When
// Redis lost its script cache (a restart) it runs again with EVAL.
func (b *Broker) runScript(ctx context.Context, s *redis.Script, keys []string, args []any, pre func(redis.Pipeliner)) (*redis.Cmd, error) {
	start := time.Now()
	cmd, err := b.runScriptOnce(ctx, s, keys, args, pre)
	b.observe(opPresence, start, err)
	return cmd, err
}
