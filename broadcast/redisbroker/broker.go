package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/velocitykode/velocity/broadcast/broker"

	"github.com/velocitykode/velocity/internal/engine"
	"github.com/velocitykode/velocity/internal/logflood"
)

// Broker carries messages between the nodes of a cluster through Redis
// pub/sub, records every node's subscribers (broker.ClientRegistry)
// and, through Presence, the members of presence channels. Build one with
// New; the zero value is not usable.
type Broker struct {
	opts      Options
	client    redis.UniversalClient
	ownClient bool
	keys      keys
	node      string
	log       *slog.Logger
	deliver   func(*broker.Envelope)
	watch     engine.Watch // set by Watch, before Start
	parts     []*partition
	local     local
	presence  *Presence
	health    *engine.Health

	sched    engine.Schedule
	beaten   bool        // heartbeat loop only
	needFull atomic.Bool // resync every channel at next beat
	kick     engine.Kick

	started   atomic.Bool
	life      *engine.Lifecycle // stopped when Close begins: cuts remote calls short
	writes    writeBehind
	closeOnce sync.Once
	closeErr  error

	dropped engine.Drops

	ops [numOps]opCounter // metrics.go
}

// ErrUnavailable is wrapped by the errors of calls made while the node
// has no working Redis connection.
var ErrUnavailable = errors.New("redisbroker: redis unavailable")

var (
	_ broker.Broker          = (*Broker)(nil)
	_ broker.ClientRegistry  = (*Broker)(nil)
	_ broker.Watcher         = (*Broker)(nil)
	_ broker.HealthChecker   = (*Broker)(nil)
	_ broker.PresenceStore   = (*Presence)(nil)
	_ broker.PresenceLimiter = (*Presence)(nil)
	_ broker.ContextCloser   = (*Broker)(nil)
)

// New connects to Redis and returns a broker ready to be passed to
// websocket.WithBroker (and its Presence to websocket.WithPresenceStore),
// or to drivers.NewRedisDriver's caller through drivers.NewRedisDriver.
// It fails, naming the URL with its password hidden, when the URL is
// invalid or Redis does not answer within opts.Timeout.
func New(opts Options) (*Broker, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	b := &Broker{opts: o, client: o.Client, node: o.NodeID, log: logflood.Logger(o.Logger), kick: engine.NewKick(), life: engine.NewLifecycle(o.Timeout)}
	b.writes.init()
	if b.client == nil {
		if b.client, err = newClient(o); err != nil {
			return nil, err
		}
		b.ownClient = true
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	defer cancel()
	if err := b.client.Ping(ctx).Err(); err != nil {
		b.closeClient()
		where := "the given client"
		if o.Client == nil {
			where = fmt.Sprintf("%q (REDIS_URL)", redact(o.URL))
		}
		return nil, fmt.Errorf("redisbroker: cannot reach Redis at %s: %w", where, err)
	}
	b.keys = keys{prefix: o.Prefix, parts: 1}
	if _, cluster := b.client.(*redis.ClusterClient); cluster && !o.DisableSharded {
		probe := b.client.SPublish(ctx, o.Prefix+"{0}:probe", "").Err()
		b.keys.sharded = probe == nil
		if probe != nil {
			b.log.Warn("redisbroker: sharded pub/sub unavailable, using PUBLISH", "err", probe)
		}
	}
	if b.keys.sharded {
		b.keys.parts = o.Partitions
	}
	b.sched = engine.NewSchedule(o.CleanupBound)
	b.local.init()
	b.health = engine.NewHealth(b.log,
		"redisbroker: redis unavailable; local connections stay up, emits fail until it returns",
		"redisbroker: redis available again; subscriptions and presence restored")
	b.presence = &Presence{b: b}
	for i := 0; i < b.keys.parts; i++ {
		b.parts = append(b.parts, newPartition(b, i))
	}
	return b, nil
}

// Presence returns the broker's presence store, for
// websocket.WithPresenceStore.
func (b *Broker) Presence() *Presence { return b.presence }

// NodeID returns this node's id in Redis.
func (b *Broker) NodeID() string { return b.node }

// Client returns the Redis client.
func (b *Broker) Client() redis.UniversalClient { return b.client }

// Start implements broker.Broker: it opens the pub/sub connections,
// registers the node and starts the heartbeat and the reaper. It fails
// when Redis does not answer within the timeout.
func (b *Broker) Start(deliver func(*broker.Envelope)) error {
	if deliver == nil {
		return errors.New("redisbroker: Start: nil deliver func")
	}
	if !b.started.CompareAndSwap(false, true) {
		return errors.New("redisbroker: Start called twice")
	}
	b.deliver = deliver
	for _, p := range b.parts {
		b.life.Go(p.run)
	}
	timer := time.NewTimer(2 * b.opts.Timeout)
	defer timer.Stop()
	for _, p := range b.parts {
		select {
		case <-p.ready:
		case <-timer.C:
			b.life.StopWait()
			return fmt.Errorf("%w: pub/sub connection not ready after %s: %v", ErrUnavailable, 2*b.opts.Timeout, b.health.Err())
		}
	}
	b.needFull.Store(true)
	if err := b.beatAndSync(); err != nil {
		b.life.StopWait()
		return fmt.Errorf("redisbroker: register node %s: %w", b.node, err)
	}
	b.startLoops()
	b.startWriter()
	return nil
}

// publish is Publish, uncounted.
func (b *Broker) publish(ctx context.Context, m *broker.Envelope) error {
	if len(m.Channels) == 0 {
		return nil
	}
	if m.Retention != nil {
		return b.publishHistory(ctx, m)
	}
	payload := encode(m)
	ctx, cancel := context.WithTimeout(ctx, b.opts.Timeout)
	defer cancel()
	var err error
	if len(m.Channels) == 1 {
		err = b.publishCmd(ctx, b.client, m.Channels[0], payload).Err()
	} else {
		_, err = b.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, ch := range m.Channels {
				b.publishCmd(ctx, p, ch, payload)
			}
			return nil
		})
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			err = fmt.Errorf("no answer within %s: %w", b.opts.Timeout, err)
		}
		return fmt.Errorf("%w: publish %q to %s%s: %v", ErrUnavailable, m.Event, strings.Join(m.Channels, ","), b.servedBy(m.Channels), err)
	}
	return nil
}

// servedBy names, on Redis Cluster, the masters that serve channels'
// pub/sub channels as go-redis last knew them (no network call), for an
// error message: " (Redis Cluster master 10.0.0.5:6379)".
func (b *Broker) servedBy(channels []string) string {
	cc, ok := b.client.(*redis.ClusterClient)
	if !ok || !b.keys.sharded {
		return ""
	}
	ctx, cancel := b.life.Call(context.Background()) // a reload only if go-redis has no slot map
	defer cancel()
	var addrs []string
	for _, ch := range channels {
		c, err := cc.MasterForKey(ctx, b.keys.pubsub(ch))
		if err != nil {
			return ""
		}
		if a := c.Options().Addr; !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	return " (Redis Cluster master " + strings.Join(addrs, ", ") + ")"
}

func (b *Broker) publishCmd(ctx context.Context, c redis.Cmdable, ch string, payload []byte) *redis.IntCmd {
	if b.keys.sharded {
		return c.SPublish(ctx, b.keys.pubsub(ch), payload)
	}
	return c.Publish(ctx, b.keys.pubsub(ch), payload)
}

// Subscribe implements broker.Broker: the node subscribes to channel's
// Redis channel and returns once Redis confirmed it. It fails at once
// while the node is disconnected from Redis.
func (b *Broker) Subscribe(ctx context.Context, channel string) error {
	start := time.Now()
	err := b.parts[b.keys.partition(channel)].subscribe(ctx, channel)
	b.observe(opSubscribe, start, err)
	return err
}

// Unsubscribe implements broker.Broker.
func (b *Broker) Unsubscribe(ctx context.Context, channel string) error {
	start := time.Now()
	err := b.parts[b.keys.partition(channel)].unsubscribe(ctx, channel)
	b.observe(opUnsubscribe, start, err)
	return err
}

// Healthy reports whether the node is connected to Redis: every pub/sub
// connection is up and the last heartbeat succeeded.
func (b *Broker) Healthy() bool {
	return b.started.Load() && !b.life.Stopped() && b.health.OK()
}

// Health pings Redis and returns nil when the node is fully connected,
// else an error wrapping ErrUnavailable that says what failed.
func (b *Broker) Health(ctx context.Context) error {
	if !b.started.Load() {
		return fmt.Errorf("%w: broker not started", ErrUnavailable)
	}
	ctx, cancel := context.WithTimeout(ctx, b.opts.Timeout)
	defer cancel()
	if err := b.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("%w: ping: %v", ErrUnavailable, err)
	}
	if err := b.health.Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// Close implements broker.Broker. It stops the broker's goroutines,
// removes this node's members and subscribers from Redis at once
// (publishing member_removed for the members it held), deregisters the
// node and closes the client if New created it. The clean-up is bounded by
// four timeouts. It is idempotent.
func (b *Broker) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 4*b.opts.Timeout)
	defer cancel()
	return b.CloseContext(ctx)
}

// CloseContext implements broker.ContextCloser: Close within ctx. Calls in
// flight are cut short at once. When ctx ends before the clean-up is done,
// the clean-up is left to the other nodes (they reap this node's entries
// within CleanupBound) and the client, if New created it, is closed at
// once, which ends the goroutines still waiting on Redis; with a client of
// the caller's they end within Timeout.
func (b *Broker) CloseContext(ctx context.Context) error {
	b.closeOnce.Do(func() {
		wasStarted := b.started.Load()
		b.life.Stop()
		if err := b.life.WaitWithin(ctx); err != nil {
			b.closeClient()
			b.closeErr = fmt.Errorf("%w: close: %v; the other nodes will reap this node's entries", ErrUnavailable, err)
			return
		}
		if wasStarted {
			b.closeErr = b.cleanupNode(ctx, b.node, b.local.channels(), true)
		}
		b.closeClient()
	})
	return b.closeErr
}

func (b *Broker) closeClient() {
	if b.ownClient {
		_ = b.client.Close()
	}
}

// malformed logs a dropped message, at most once a second.
func (b *Broker) malformed(channel string, err error) {
	if n, log := b.dropped.Add(); log {
		b.log.Warn("redisbroker: dropped malformed message", "redis_channel", channel, "err", err, "dropped_total", n)
	}
}
