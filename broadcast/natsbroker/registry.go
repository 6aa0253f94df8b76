package natsbroker

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/velocitykode/velocity/broadcast/broker"
)

// The client registry is written behind. AddClient and RemoveClient
// change the node's local state and queue the channel; one writer
// goroutine writes each queued channel's whole local state (kv.go), in
// the order the channels were queued. A channel queued again before its
// turn keeps its place, so the queue holds each channel once: it is
// bounded by the channels the node's subscribers use. A write that fails
// leaves the channel to the next heartbeat that reaches NATS, which
// queues it again (and every channel after NATS lost the buckets or took
// this node for dead).
//
// So Clients (and GetClients) on another node may miss a subscription, or
// still list one, for as long as the channel waits to be written:
// normally a few round trips to NATS; after a failed write, until the
// next heartbeat that reaches NATS (CleanupBound·2/9). The node that
// holds the subscription lists it at once. ToOthers does not depend on
// the registry: it excludes by socket id on delivery.
type registry struct {
	mu      sync.Mutex
	clients map[string]map[string]struct{} // channel → local sockets
	written map[string]bool                // channels indexed and in their o. key
	queue   []string
	queued  map[string]struct{}
	failed  map[string]struct{} // to queue again at the next heartbeat
	wake    chan struct{}

	kvp      atomic.Pointer[buckets] // set by open
	needFull atomic.Bool             // queue every channel at the next heartbeat
	beatRev  uint64                  // heartbeat loop only
	kick     chan struct{}
}

func (r *registry) init(string) {
	r.clients = make(map[string]map[string]struct{})
	r.written = make(map[string]bool)
	r.queued = make(map[string]struct{})
	r.failed = make(map[string]struct{})
	r.wake = make(chan struct{}, 1)
	r.kick = make(chan struct{}, 1)
}

// open opens the buckets and adopts the heartbeat bucket's MaxAge. It
// reports whether it had to create a bucket.
func (r *registry) open(ctx context.Context, b *Broker) (bool, error) {
	kv, ttl, created, err := ensureBuckets(ctx, b.js, b.opts.Prefix, b.ttl)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if ttl != b.ttl && r.kvp.Load() == nil {
		b.log.Warn("natsbroker: the heartbeat bucket was created with another CleanupBound; following it",
			"bucket_max_age", ttl, "own_ttl", b.ttl)
		if ttl > 0 {
			b.ttl, b.beatEvery = ttl, ttl/3
		}
	}
	r.kvp.Store(&kv)
	return created, nil
}

func (r *registry) ready() bool { return r.kvp.Load() != nil }

// kv returns the buckets; only after open.
func (r *registry) kv() *buckets { return r.kvp.Load() }

// set records (on) or forgets a local subscriber and queues its channel.
func (r *registry) set(channel, socket string, on bool) {
	r.mu.Lock()
	set := r.clients[channel]
	if on {
		if set == nil {
			set = make(map[string]struct{})
			r.clients[channel] = set
		}
		set[socket] = struct{}{}
	} else {
		delete(set, socket)
		if len(set) == 0 {
			delete(r.clients, channel)
		}
	}
	r.enqueueLocked(channel)
	r.mu.Unlock()
	r.signal()
}

func (r *registry) enqueueLocked(channel string) {
	if _, ok := r.queued[channel]; !ok {
		r.queued[channel] = struct{}{}
		r.queue = append(r.queue, channel)
	}
}

func (r *registry) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// next takes the first queued channel with a snapshot of its sockets.
func (r *registry) next() (channel string, sockets []string, written, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queue) == 0 {
		r.queue = nil
		return "", nil, false, false
	}
	channel, r.queue = r.queue[0], r.queue[1:]
	delete(r.queued, channel)
	return channel, r.socketsLocked(channel), r.written[channel], true
}

func (r *registry) socketsLocked(channel string) []string {
	ids := make([]string, 0, len(r.clients[channel]))
	for s := range r.clients[channel] {
		ids = append(ids, s)
	}
	sort.Strings(ids)
	return ids
}

func (r *registry) sockets(channel string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.socketsLocked(channel)
}

func (r *registry) setWritten(channel string, on bool) {
	r.mu.Lock()
	if on {
		r.written[channel] = true
	} else {
		delete(r.written, channel)
	}
	r.mu.Unlock()
}

func (r *registry) fail(channel string) {
	r.mu.Lock()
	r.failed[channel] = struct{}{}
	r.mu.Unlock()
}

// requeue queues the failed channels again, and with all every local
// channel and extra, forgetting what was written.
func (r *registry) requeue(all bool, extra []string) {
	r.mu.Lock()
	if all {
		clear(r.written)
		for ch := range r.clients {
			r.enqueueLocked(ch)
		}
		for _, ch := range extra {
			r.enqueueLocked(ch)
		}
	}
	for ch := range r.failed {
		r.enqueueLocked(ch)
	}
	clear(r.failed)
	r.mu.Unlock()
	r.signal()
}

func (r *registry) localChannels() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.clients)+len(r.written))
	for ch := range r.clients {
		out = append(out, ch)
	}
	for ch := range r.written {
		if _, ok := r.clients[ch]; !ok {
			out = append(out, ch)
		}
	}
	return out
}

// AddClient implements broker.ClientRegistry: it records socketID as a
// subscriber of channel held by this node, writing behind (see above); it
// never waits for NATS.
func (b *Broker) AddClient(_ context.Context, channel, socketID string) error {
	b.reg.set(channel, socketID, true)
	return nil
}

// RemoveClient implements broker.ClientRegistry, writing behind.
func (b *Broker) RemoveClient(_ context.Context, channel, socketID string) error {
	b.reg.set(channel, socketID, false)
	return nil
}

// writeLoop writes the queued channels until the broker closes.
func (b *Broker) writeLoop() {
	for {
		select {
		case <-b.done:
			return
		case <-b.reg.wake:
		}
		for !b.closed() {
			ch, sockets, written, ok := b.reg.next()
			if !ok {
				break
			}
			ctx, cancel := b.ctx(context.Background())
			err := b.writeChannel(ctx, ch, sockets, written)
			cancel()
			if err != nil {
				b.reg.fail(ch)
				b.log.Warn("natsbroker: subscriber registry write failed, will retry", "channel", ch, "err", err)
			}
		}
	}
}

// writeChannel makes NATS hold sockets as this node's subscribers of
// channel. A channel taken from no node to some, or back, is reported
// occupied or vacated here.
func (b *Broker) writeChannel(ctx context.Context, channel string, sockets []string, written bool) error {
	if len(sockets) == 0 {
		b.reg.setWritten(channel, false)
		return b.removeEntries(ctx, b.node, channel)
	}
	kv, token := b.reg.kv(), channelToken(channel)
	if !written {
		if _, err := kv.nodes.Put(ctx, indexKey(b.node, token), []byte{'1'}); err != nil {
			return err
		}
	}
	if _, err := kv.clients.Put(ctx, socketsKey(token, b.node), mustJSON(sockets)); err != nil {
		return err
	}
	if !written {
		n, err := updateNodes(ctx, kv.clients, token, b.node, true)
		if err != nil {
			return err
		}
		b.reg.setWritten(channel, true)
		b.reportOccupancy(channel, n)
	}
	return nil
}

// removeEntries removes node's subscribers of channel and its index
// entry, reporting the channel vacated if node was its last.
func (b *Broker) removeEntries(ctx context.Context, node, channel string) error {
	kv, token := b.reg.kv(), channelToken(channel)
	n, err := updateNodes(ctx, kv.clients, token, node, false)
	if err != nil {
		return err
	}
	b.reportOccupancy(channel, n)
	if err := deleteKey(ctx, kv.clients, socketsKey(token, node)); err != nil {
		return err
	}
	return deleteKey(ctx, kv.nodes, indexKey(node, token))
}

// Clients implements broker.ClientRegistry: the socket ids subscribed to
// channel on every live node, sorted: this node's exactly, the other
// nodes' as far as they have written them (see above). Subscribers of a
// node whose heartbeat expired are left out even before a survivor
// reaped them.
func (b *Broker) Clients(ctx context.Context, channel string) ([]string, error) {
	ids := b.reg.sockets(channel)
	if !b.reg.ready() {
		return ids, nil
	}
	fail := func(err error) ([]string, error) {
		return nil, fmt.Errorf("%w: subscribers of %q: %v", ErrUnavailable, channel, err)
	}
	if err := b.connected(); err != nil {
		return fail(err)
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	kv, token := b.reg.kv(), channelToken(channel)
	nodes, err := readNodes(ctx, kv.clients, token)
	if err != nil {
		return fail(err)
	}
	for _, n := range nodes {
		if n == b.node {
			continue
		}
		alive, err := b.alive(ctx, n)
		if err != nil {
			return fail(err)
		}
		if !alive {
			continue
		}
		theirs, err := readSockets(ctx, kv.clients, token, n)
		if err != nil {
			return fail(err)
		}
		ids = append(ids, theirs...)
	}
	sort.Strings(ids)
	return ids, nil
}

// reportOccupancy reports what a registry write did to channel's
// occupancy: 1 occupied it, -1 vacated it, 0 neither.
func (b *Broker) reportOccupancy(channel string, n int) {
	switch n {
	case 1:
		b.report(broker.Change{Kind: broker.ChannelOccupied, Channel: channel})
	case -1:
		b.report(broker.Change{Kind: broker.ChannelVacated, Channel: channel})
	}
}
