package natsbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/internal/engine"
	"github.com/velocitykode/velocity/internal/logflood"
)

// Broker carries messages between the nodes of a cluster through core
// NATS subjects and keeps the cluster's subscriber registry
// (broker.ClientRegistry, broker.Watcher) and, through Presence, the
// members of presence channels in JetStream key-value buckets, and
// channel history (broker.Historian) in JetStream streams. Build one with
// New; the zero value is not usable.
type Broker struct {
	opts Options
	nc   *nats.Conn
	js   jetstream.JetStream
	subj subjects
	node string
	log  *slog.Logger

	deliver func(*broker.Envelope)
	watch   engine.Watch // set by Watch, before Start

	subs     subscriptions
	health   *engine.Health
	reg      registry
	presence *Presence
	hist     histStreams

	sched engine.Schedule // TTL and Beat follow the bucket's (local.go)

	started   atomic.Bool
	life      *engine.Lifecycle // stopped when Close begins: cuts remote calls short
	events    engine.Kick       // a connection event is pending (see conn.go)
	closeOnce sync.Once
	closeErr  error

	dropped engine.Drops
}

// ErrUnavailable is wrapped by the errors of calls made while the node
// has no working NATS connection (or JetStream does not answer).
var ErrUnavailable = errors.New("natsbroker: NATS unavailable")

var (
	_ broker.Broker         = (*Broker)(nil)
	_ broker.ClientRegistry = (*Broker)(nil)
	_ broker.Watcher        = (*Broker)(nil)
	_ broker.HealthChecker  = (*Broker)(nil)
	_ broker.ContextCloser  = (*Broker)(nil)
)

// New connects to NATS and returns a broker ready to be passed to
// websocket.WithBroker (and its Presence to websocket.WithPresenceStore),
// or use drivers.NewNATSDriver. It fails, naming
// the URL with its password hidden, when the URL is invalid, NATS does
// not answer within opts.Timeout, or the server has no JetStream (which
// the subscriber registry needs: run nats-server with -js).
func New(opts Options) (*Broker, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	b := &Broker{opts: o, subj: newSubjects(o.Prefix), node: o.NodeID, log: logflood.Logger(o.Logger),
		life: engine.NewLifecycle(o.Timeout), events: engine.NewKick()}
	b.subs.init()
	b.health = engine.NewHealth(b.log,
		"natsbroker: NATS unavailable; local connections stay up, emits fail until it returns",
		"natsbroker: NATS available again; subscriptions restored")
	b.reg.init(o.Prefix)
	b.presence = &Presence{b: b}
	b.sched = engine.NewSchedule(o.CleanupBound)
	where := fmt.Sprintf("%q (NATS_URL)", redact(o.URL))
	b.nc, err = nats.Connect(o.URL, b.natsOptions()...)
	if err != nil {
		b.life.Stop()
		return nil, fmt.Errorf("natsbroker: cannot reach NATS at %s: %w", where, err)
	}
	if b.js, err = jetstream.New(b.nc); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
		_, err = b.js.AccountInfo(ctx)
		cancel()
	}
	if err != nil {
		b.nc.Close()
		b.life.Stop()
		return nil, fmt.Errorf("natsbroker: NATS at %s has no usable JetStream (run nats-server with -js; the subscriber registry needs it): %w", where, err)
	}
	return b, nil
}

// NodeID returns this node's id in NATS.
func (b *Broker) NodeID() string { return b.node }

// Conn returns the NATS connection.
func (b *Broker) Conn() *nats.Conn { return b.nc }

// Start implements broker.Broker: it opens the key-value buckets,
// registers the node and starts its reader, heartbeat, reaper and
// registry writer goroutines. It fails when NATS does not answer within
// the timeout.
func (b *Broker) Start(deliver func(*broker.Envelope)) error {
	if deliver == nil {
		return errors.New("natsbroker: Start: nil deliver func")
	}
	if !b.started.CompareAndSwap(false, true) {
		return errors.New("natsbroker: Start called twice")
	}
	b.deliver = deliver
	for i := range b.subs.inbox {
		b.life.Go(func() { b.readLoop(b.subs.inbox[i]) })
	}
	b.life.Go(b.eventLoop)
	ctx, cancel := b.life.Call(context.Background())
	_, err := b.reg.open(ctx, b)
	cancel()
	if err == nil {
		err = b.beatAndSync()
	}
	if err != nil {
		b.life.StopWait()
		return fmt.Errorf("natsbroker: register node %s: %w", b.node, err)
	}
	b.startLoops()
	b.startWriter()
	return nil
}

// Publish implements broker.Broker: m is encoded once and published on
// the subject of each of its channels, then the connection is flushed
// once, so Publish returns when NATS has taken every copy. It fails at
// once while the node is disconnected, and within the timeout when NATS
// does not answer. An envelope asking for history (Retention set) is
// stored in its channel's stream instead, which delivers it (history.go).
func (b *Broker) Publish(ctx context.Context, m *broker.Envelope) error {
	if b.life.Stopped() {
		return broker.ErrClosed
	}
	return b.publish(ctx, m)
}

// publish is Publish, also while Close announces this node's departed
// members.
func (b *Broker) publish(ctx context.Context, m *broker.Envelope) error {
	if len(m.Channels) == 0 {
		return nil
	}
	if m.Retention != nil {
		return b.publishHistory(ctx, m)
	}
	fail := func(err error) error {
		return fmt.Errorf("%w: publish %q to %s: %v", ErrUnavailable, m.Event, strings.Join(m.Channels, ","), err)
	}
	if err := b.connected(); err != nil {
		return fail(err)
	}
	payload := encode(m)
	for _, ch := range m.Channels {
		if err := b.nc.Publish(b.subj.channel(ch), payload); err != nil {
			return fail(err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, b.opts.Timeout)
	defer cancel()
	if err := b.nc.FlushWithContext(ctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within %s: %w", b.opts.Timeout, err)
		}
		return fail(err)
	}
	return nil
}

// connected returns nil while the connection is up, else why not.
func (b *Broker) connected() error {
	if st := b.nc.Status(); st != nats.CONNECTED {
		if err := b.health.Err(); err != nil {
			return err
		}
		return fmt.Errorf("connection %s", strings.ToLower(st.String()))
	}
	return nil
}

// Subscribe implements broker.Broker: the node subscribes to channel's
// subject and returns once NATS confirmed it (a flush). It fails at once
// while the node is disconnected.
func (b *Broker) Subscribe(ctx context.Context, channel string) error {
	if b.life.Stopped() {
		return broker.ErrClosed
	}
	if err := b.connected(); err != nil {
		return fmt.Errorf("%w: subscribe %q: %v", ErrUnavailable, channel, err)
	}
	ctx, cancel := b.life.Call(ctx)
	defer cancel()
	if err := b.subs.add(b, channel); err != nil {
		return fmt.Errorf("%w: subscribe %q: %v", ErrUnavailable, channel, err)
	}
	if err := b.nc.FlushWithContext(ctx); err != nil {
		b.subs.remove(channel) // roll back
		return fmt.Errorf("%w: subscribe %q: %v", ErrUnavailable, channel, err)
	}
	return nil
}

// Unsubscribe implements broker.Broker. It never waits for NATS: the
// unsubscription is queued on the connection (and forgotten with it).
func (b *Broker) Unsubscribe(_ context.Context, channel string) error {
	b.subs.remove(channel)
	return nil
}

// Healthy reports whether the node is connected to NATS and its last
// heartbeat succeeded.
func (b *Broker) Healthy() bool {
	return b.started.Load() && !b.life.Stopped() && b.nc.Status() == nats.CONNECTED && b.health.OK()
}

// Health implements broker.HealthChecker: it round-trips to NATS and
// returns nil when the node is fully connected, else an error wrapping
// ErrUnavailable that says what failed.
func (b *Broker) Health(ctx context.Context) error {
	if !b.started.Load() {
		return fmt.Errorf("%w: broker not started", ErrUnavailable)
	}
	if b.life.Stopped() {
		return fmt.Errorf("%w: broker closed", ErrUnavailable)
	}
	if err := b.connected(); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	ctx, cancel := b.life.Call(ctx)
	defer cancel()
	if err := b.nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("%w: ping: %v", ErrUnavailable, err)
	}
	if err := b.health.Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// Close implements broker.Broker. It stops the broker's goroutines,
// removes this node's subscribers and presence connections at once
// (publishing member_removed for the members that leaves), deregisters
// the node and closes the connection. The clean-up is bounded by four
// timeouts. It is idempotent.
func (b *Broker) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 4*b.opts.Timeout)
	defer cancel()
	return b.CloseContext(ctx)
}

// CloseContext implements broker.ContextCloser: Close within ctx. When
// ctx ends before the clean-up is done, the clean-up is left to the other
// nodes (they reap this node's entries within CleanupBound).
func (b *Broker) CloseContext(ctx context.Context) error {
	b.closeOnce.Do(func() {
		wasStarted := b.started.Load()
		b.life.Stop()
		b.subs.removeAll()
		if err := b.life.WaitWithin(ctx); err != nil {
			b.nc.Close() // ends the calls still waiting on NATS
			b.closeErr = fmt.Errorf("%w: close: %v; the other nodes will reap this node's entries", ErrUnavailable, err)
			<-b.life.Wait()
			return
		}
		if wasStarted && b.reg.ready() {
			b.closeErr = b.cleanupNode(ctx, b.node, b.reg.localChannels())
		}
		b.nc.Close()
	})
	return b.closeErr
}

// malformed logs a dropped message, at most once a second.
func (b *Broker) malformed(subject string, err error) {
	if n, log := b.dropped.Add(); log {
		b.log.Warn("natsbroker: dropped malformed message", "subject", truncate(subject), "err", err, "dropped_total", n)
	}
}

// Dropped returns how many malformed or foreign messages the node
// dropped since it started.
func (b *Broker) Dropped() uint64 { return b.dropped.Total() }

func truncate(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
