package natsbroker

import (
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
)

// natsOptions are the connection's options: reconnect forever, no
// publishes buffered while disconnected (Publish fails instead), pings
// every Timeout, and handlers that only record the event for eventLoop,
// so that nothing is delivered from nats.go's goroutines.
func (b *Broker) natsOptions() []nats.Option {
	t := b.opts.Timeout
	opts := []nats.Option{
		nats.Name("velocity-" + b.node),
		nats.Timeout(t),
		nats.PingInterval(t),
		nats.MaxPingsOutstanding(2),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.ReconnectBufSize(-1),
		nats.NoCallbacksAfterClientClose(),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err == nil {
				err = errors.New("disconnected")
			}
			b.health.Set("connection", err)
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			b.health.Set("connection", nil)
			b.subs.reconnected.Store(true)
			b.events.Send()
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrSlowConsumer) && sub != nil {
				b.subs.markLagging(sub)
				b.events.Send()
				return
			}
			b.log.Warn("natsbroker: connection error", "err", err)
		}),
	}
	return append(opts, b.opts.NATS...)
}

// eventLoop handles connection events: after a reconnection (nats.go
// resubscribed every subscription itself) or a slow-consumer drop it
// tells the node that the channels concerned may have missed messages,
// and after a reconnection it has the heartbeat resynchronize the
// registry, which the server may have lost.
func (b *Broker) eventLoop() {
	for {
		select {
		case <-b.life.Done():
			return
		case <-b.events:
		}
		if b.subs.reconnected.Swap(false) {
			b.resync(b.subs.channels(), "subscriptions were interrupted by a reconnection")
			b.reg.needFull.Store(true)
			b.reg.kick.Send()
		}
		if lag := b.subs.takeLagging(); len(lag) > 0 {
			b.resync(lag, "messages were dropped for a slow consumer")
		}
	}
}

// resync tells the node that its subscription to channels was
// interrupted: whatever was published to them meanwhile never reached
// it. The envelope goes through the node's deliver func, like any
// message.
func (b *Broker) resync(channels []string, why string) {
	if len(channels) == 0 {
		return
	}
	b.log.Warn("natsbroker: subscribers may have missed messages; "+why, "channels", len(channels))
	b.deliver(&broker.Envelope{Message: broadcast.Message{Channels: channels, Event: broker.EventResync}})
}

// readers is the number of goroutines decoding messages; a channel's
// messages are always read by the same one, in order.
const readers = 4

// inboxSize bounds each reader's queue. When one is full nats.go drops
// the message and reports a slow consumer: the channel is resynchronized.
const inboxSize = 8192

// subscriptions is the node's NATS subscriptions, one per channel.
type subscriptions struct {
	mu          sync.Mutex
	byChannel   map[string]*nats.Subscription
	bySub       map[*nats.Subscription]string
	lagging     map[string]struct{}
	inbox       [readers]chan *nats.Msg
	reconnected atomic.Bool
}

func (s *subscriptions) init() {
	s.byChannel = make(map[string]*nats.Subscription)
	s.bySub = make(map[*nats.Subscription]string)
	s.lagging = make(map[string]struct{})
	for i := range s.inbox {
		s.inbox[i] = make(chan *nats.Msg, inboxSize)
	}
}

// add subscribes to channel (queued on the connection; the caller
// flushes). Subscribing again replaces the subscription.
func (s *subscriptions) add(b *Broker, channel string) error {
	inbox := s.inbox[shard(channel)]
	sub, err := b.nc.ChanSubscribe(b.subj.channel(channel), inbox)
	if err != nil {
		return err
	}
	// A channel's messages are never dropped by nats.go's own pending
	// limits before the inbox is full.
	_ = sub.SetPendingLimits(-1, -1)
	s.mu.Lock()
	old := s.byChannel[channel]
	s.byChannel[channel] = sub
	s.bySub[sub] = channel
	if old != nil {
		delete(s.bySub, old)
	}
	s.mu.Unlock()
	if old != nil {
		_ = old.Unsubscribe()
	}
	return nil
}

func (s *subscriptions) remove(channel string) {
	s.mu.Lock()
	sub := s.byChannel[channel]
	delete(s.byChannel, channel)
	delete(s.bySub, sub)
	s.mu.Unlock()
	if sub != nil {
		_ = sub.Unsubscribe()
	}
}

func (s *subscriptions) removeAll() {
	s.mu.Lock()
	subs := make([]*nats.Subscription, 0, len(s.bySub))
	for sub := range s.bySub {
		subs = append(subs, sub)
	}
	clear(s.byChannel)
	clear(s.bySub)
	s.mu.Unlock()
	for _, sub := range subs {
		_ = sub.Unsubscribe()
	}
}

func (s *subscriptions) channels() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.byChannel))
	for ch := range s.byChannel {
		out = append(out, ch)
	}
	sort.Strings(out)
	return out
}

func (s *subscriptions) markLagging(sub *nats.Subscription) {
	s.mu.Lock()
	if ch, ok := s.bySub[sub]; ok {
		s.lagging[ch] = struct{}{}
	}
	s.mu.Unlock()
}

func (s *subscriptions) takeLagging() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.lagging))
	for ch := range s.lagging {
		out = append(out, ch)
	}
	clear(s.lagging)
	return out
}

// shard picks a channel's reader (FNV-1a).
func shard(channel string) int {
	h := uint32(2166136261)
	for i := 0; i < len(channel); i++ {
		h = (h ^ uint32(channel[i])) * 16777619
	}
	return int(h % readers)
}

// readLoop decodes and delivers the messages of one inbox until Close.
func (b *Broker) readLoop(inbox chan *nats.Msg) {
	for {
		select {
		case <-b.life.Done():
			return
		case m := <-inbox:
			ch, err := b.subj.parse(m.Subject)
			if err != nil {
				b.malformed(m.Subject, err)
				continue
			}
			e, err := decode(ch, m.Data)
			if err == nil && m.Header.Get(hdrOffset) != "" { // republished by a history stream
				e.Position, err = positionOf(m.Header)
			}
			if err != nil {
				b.malformed(m.Subject, err)
				continue
			}
			b.deliver(e)
		}
	}
}
