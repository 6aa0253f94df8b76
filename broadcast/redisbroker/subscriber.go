package redisbroker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
)

// partition is one pub/sub connection of the node and the Redis channels
// it must be subscribed to. Without Cluster there is one; on Cluster each
// partition's channels share a hash tag, so one SSUBSCRIBE connection
// serves them.
type partition struct {
	b      *Broker
	name   string // health component
	prefix string // of its Redis channel names
	ctl    string // pins a sharded connection to the partition's slot

	mu     sync.Mutex
	sess   *session // nil while disconnected
	needed map[string]struct{}

	ready     chan struct{} // closed when the first session is up
	readyOnce sync.Once
	wasUp     bool // a session was up before; run's goroutine only
}

func newPartition(b *Broker, i int) *partition {
	p := &partition{b: b, name: "pubsub/" + strconv.Itoa(i), prefix: b.keys.channelPrefix(i),
		needed: make(map[string]struct{}), ready: make(chan struct{})}
	p.ctl = strings.TrimSuffix(p.prefix, "ch:") + "ctl"
	return p
}

// run keeps a session open until the broker closes, reconnecting with a
// capped, jittered backoff. Every session resubscribes every needed
// channel.
func (p *partition) run() {
	b := p.b
	delay := 50 * time.Millisecond
	for {
		err := p.session()
		select {
		case <-b.life.Done():
			return
		default:
		}
		if err == nil { // the session was up, then failed: retry soon
			delay = 50 * time.Millisecond
		} else {
			b.health.Set(p.name, err)
		}
		p.reloadSlots()
		t := time.NewTimer(delay/2 + rand.N(delay/2+1))
		select {
		case <-b.life.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(2*delay, time.Second)
	}
}

// reloadSlots has a Cluster client reload the slot map after a pub/sub
// connection failed: when a master died and its replica took over, the
// next session then dials the new master instead of the dead one until
// go-redis's periodic reload (a minute by default). The reload runs in the
// background; go-redis coalesces reloads asked for meanwhile.
func (p *partition) reloadSlots() {
	if cc, ok := p.b.client.(*redis.ClusterClient); ok {
		cc.ReloadState(context.Background())
	}
}

// session opens a connection, resubscribes, and then watches it. It
// returns an error when the connection could not be set up, nil after a
// session that was up.
func (p *partition) session() error {
	b := p.b
	ctx, cancel := b.life.Call(context.Background())
	defer cancel()
	var ps *redis.PubSub
	if b.keys.sharded {
		ps = b.client.SSubscribe(ctx, p.ctl)
	} else {
		ps = b.client.Subscribe(ctx)
	}
	s := newSession(ps)
	b.life.Go(func() { s.read(p) })
	p.mu.Lock()
	p.sess = s
	chans := make([]string, 0, len(p.needed))
	for ch := range p.needed {
		chans = append(chans, ch)
	}
	p.mu.Unlock()
	if err := p.resubscribe(ctx, s, chans); err != nil {
		p.end(s)
		return fmt.Errorf("resubscribe %d channels: %w", len(chans), err)
	}
	b.health.Set(p.name, nil)
	p.readyOnce.Do(func() { close(p.ready) })
	if p.wasUp {
		p.resync(chans)
	}
	p.wasUp = true
	b.kick.Send() // heartbeat at once: Redis may have restarted
	err := p.watch(s)
	p.end(s)
	if err != nil {
		b.health.Set(p.name, err)
	}
	return nil
}

// resync tells the node that its subscription to chans (Redis channel
// names) was interrupted and is back: whatever was published to them
// between the end of the previous session and the resubscription never
// reached this node, even when Redis acknowledged the publish. The
// envelope goes through the node's deliver func, like any message.
func (p *partition) resync(chans []string) {
	if len(chans) == 0 {
		return
	}
	names := make([]string, 0, len(chans))
	for _, rc := range chans {
		if ch, ok := strings.CutPrefix(rc, p.prefix); ok {
			names = append(names, ch)
		}
	}
	p.b.log.Warn("redisbroker: pub/sub subscription was interrupted; subscribers may have missed messages",
		"component", p.name, "channels", len(names))
	p.b.deliver(&broker.Envelope{Message: broadcast.Message{Channels: names, Event: broker.EventResync}})
}

func (p *partition) resubscribe(ctx context.Context, s *session, chans []string) error {
	for len(chans) > 0 {
		n := min(len(chans), 256)
		if err := p.subscribeCmd(ctx, s.ps, chans[:n]...); err != nil {
			return err
		}
		chans = chans[n:]
	}
	return s.confirm(ctx)
}

// watch returns when the connection fails, stays silent for two
// timeouts despite a ping, or the broker closes (nil).
func (p *partition) watch(s *session) error {
	b := p.b
	t := time.NewTicker(b.opts.Timeout / 2)
	defer t.Stop()
	for {
		select {
		case <-b.life.Done():
			return nil
		case <-s.done:
			return fmt.Errorf("pub/sub connection lost: %w", s.err)
		case <-t.C:
			silent := time.Since(time.Unix(0, s.lastSeen.Load()))
			if silent > 2*b.opts.Timeout {
				return fmt.Errorf("pub/sub connection silent for %s", silent.Round(time.Millisecond))
			}
			if silent > b.opts.Timeout/2 {
				ctx, cancel := b.life.Call(context.Background())
				err := s.ps.Ping(ctx, "hc")
				cancel()
				if err != nil {
					return fmt.Errorf("pub/sub ping: %w", err)
				}
			}
		}
	}
}

// end detaches s and closes its connection.
func (p *partition) end(s *session) {
	p.mu.Lock()
	if p.sess == s {
		p.sess = nil
	}
	p.mu.Unlock()
	_ = s.ps.Close()
	<-s.done
}

func (p *partition) subscribeCmd(ctx context.Context, ps *redis.PubSub, chans ...string) error {
	if p.b.keys.sharded {
		return ps.SSubscribe(ctx, chans...)
	}
	return ps.Subscribe(ctx, chans...)
}

func (p *partition) subscribe(ctx context.Context, channel string) error {
	rc := p.prefix + channel
	p.mu.Lock()
	s := p.sess
	if s == nil {
		p.mu.Unlock()
		return fmt.Errorf("%w: subscribe %q: %v", ErrUnavailable, channel, p.b.health.Err())
	}
	p.needed[rc] = struct{}{}
	p.mu.Unlock()
	ctx, cancel := p.b.life.Call(ctx)
	defer cancel()
	err := p.subscribeCmd(ctx, s.ps, rc)
	if err == nil {
		err = s.confirm(ctx)
	}
	if err != nil {
		_ = p.unsubscribe(ctx, channel) // roll back
		return fmt.Errorf("%w: subscribe %q: %v", ErrUnavailable, channel, err)
	}
	return nil
}

func (p *partition) unsubscribe(ctx context.Context, channel string) error {
	rc := p.prefix + channel
	p.mu.Lock()
	delete(p.needed, rc)
	s := p.sess
	if s != nil {
		s.pendingUnsub[rc]++
	}
	p.mu.Unlock()
	if s == nil {
		return nil // nothing is subscribed on a closed connection
	}
	ctx, cancel := p.b.life.Call(ctx)
	defer cancel()
	var err error
	if p.b.keys.sharded {
		err = s.ps.SUnsubscribe(ctx, rc)
	} else {
		err = s.ps.Unsubscribe(ctx, rc)
	}
	if err != nil {
		return fmt.Errorf("redisbroker: unsubscribe %q: %w", channel, err)
	}
	return nil
}

// unsubscribed handles an (s)unsubscribe reply: one Redis sent on its own
// (a Cluster slot moved) for a channel still needed restarts the session.
func (p *partition) unsubscribed(s *session, rc string) {
	p.mu.Lock()
	_, needed := p.needed[rc]
	unsolicited := false
	if n := s.pendingUnsub[rc]; n > 1 {
		s.pendingUnsub[rc] = n - 1
	} else if n == 1 {
		delete(s.pendingUnsub, rc)
	} else {
		unsolicited = needed && p.sess == s
	}
	p.mu.Unlock()
	if unsolicited {
		p.b.log.Warn("redisbroker: redis dropped a subscription, reconnecting", "redis_channel", rc)
		_ = s.ps.Close()
	}
}
