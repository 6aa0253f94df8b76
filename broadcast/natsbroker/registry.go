package natsbroker

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/velocitykode/velocity/broadcast"
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
	mu       sync.Mutex
	clients  map[string]map[string]struct{}         // channel → local sockets
	presence map[string]map[string]broadcast.Member // channel → local socket → member
	written  map[string]bool                        // channels whose o. key lists this node
	indexed  map[string]bool                        // channels in this node's index
	pdirty   map[string]struct{}                    // presence to resync at the next heartbeat
	locks    map[string]*channelLock                // channels with a write in progress
	queue    []string
	queued   map[string]struct{}
	failed   map[string]struct{} // to queue again at the next heartbeat
	wake     chan struct{}

	kvp      atomic.Pointer[buckets] // set by open
	needFull atomic.Bool             // queue every channel at the next heartbeat
	beatRev  uint64                  // heartbeat loop only
	kick     chan struct{}
}

func (r *registry) init(string) {
	r.clients = make(map[string]map[string]struct{})
	r.presence = make(map[string]map[string]broadcast.Member)
	r.written = make(map[string]bool)
	r.indexed = make(map[string]bool)
	r.pdirty = make(map[string]struct{})
	r.locks = make(map[string]*channelLock)
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
// channel and extra, forgetting what was written. It returns the
// channels whose presence to resynchronize (with all: every one with
// local members, and extra).
func (r *registry) requeue(all bool, extra []string) []string {
	r.mu.Lock()
	if all {
		clear(r.written)
		clear(r.indexed)
		for ch := range r.clients {
			r.enqueueLocked(ch)
		}
		for ch := range r.presence {
			r.pdirty[ch] = struct{}{}
		}
		for _, ch := range extra {
			r.enqueueLocked(ch)
			r.pdirty[ch] = struct{}{}
		}
	}
	for ch := range r.failed {
		r.enqueueLocked(ch)
	}
	clear(r.failed)
	pres := make([]string, 0, len(r.pdirty))
	for ch := range r.pdirty {
		pres = append(pres, ch)
	}
	clear(r.pdirty)
	r.mu.Unlock()
	r.signal()
	return pres
}

func (r *registry) markPresenceDirty(channel string) {
	r.mu.Lock()
	r.pdirty[channel] = struct{}{}
	r.mu.Unlock()
}

// setMember records (m non-nil) or forgets a local presence connection.
func (r *registry) setMember(channel, socket string, m *broadcast.Member) {
	r.mu.Lock()
	defer r.mu.Unlock()
	set := r.presence[channel]
	if m == nil {
		delete(set, socket)
		if len(set) == 0 {
			delete(r.presence, channel)
		}
		return
	}
	if set == nil {
		set = make(map[string]broadcast.Member)
		r.presence[channel] = set
	}
	set[socket] = *m
}

// members copies channel's local presence connections.
func (r *registry) members(channel string) map[string]broadcast.Member {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]broadcast.Member, len(r.presence[channel]))
	for s, m := range r.presence[channel] {
		out[s] = m
	}
	return out
}

// idle reports whether the node has no local entry in channel.
func (r *registry) idle(channel string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.clients[channel]) == 0 && len(r.presence[channel]) == 0
}

func (r *registry) setIndexed(channel string, on bool) {
	r.mu.Lock()
	if on {
		r.indexed[channel] = true
	} else {
		delete(r.indexed, channel)
	}
	r.mu.Unlock()
}

func (r *registry) isIndexed(channel string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.indexed[channel]
}

// channelLock serializes this node's writes of one channel (its index
// entry, subscribers and presence connections); refs counts its holders
// and waiters, so it is dropped when none is left. Channels never wait
// for each other.
type channelLock struct {
	sync.Mutex
	refs int
}

// lock takes channel's lock and returns its unlock function.
func (r *registry) lock(channel string) (unlock func()) {
	r.mu.Lock()
	cl := r.locks[channel]
	if cl == nil {
		cl = &channelLock{}
		r.locks[channel] = cl
	}
	cl.refs++
	r.mu.Unlock()
	cl.Lock()
	return func() {
		cl.Unlock()
		r.mu.Lock()
		if cl.refs--; cl.refs == 0 {
			delete(r.locks, channel)
		}
		r.mu.Unlock()
	}
}

// ensureIndex writes channel into the node's index unless it is there:
// before any entry of the node in channel, so that survivors find it.
// The caller holds channel's lock.
func (b *Broker) ensureIndex(ctx context.Context, channel string) error {
	if b.reg.isIndexed(channel) {
		return nil
	}
	if _, err := b.reg.kv().nodes.Put(ctx, indexKey(b.node, channelToken(channel)), []byte{'1'}); err != nil {
		return err
	}
	b.reg.setIndexed(channel, true)
	return nil
}

// dropIndexIfIdle removes channel from the node's index once the node
// has no entry left in it. The caller holds channel's lock; a failure
// leaves an entry that only costs the reaper a look.
func (b *Broker) dropIndexIfIdle(ctx context.Context, channel string) {
	if !b.reg.idle(channel) || !b.reg.isIndexed(channel) {
		return
	}
	if deleteKey(ctx, b.reg.kv().nodes, indexKey(b.node, channelToken(channel))) == nil {
		b.reg.setIndexed(channel, false)
	}
}

func (r *registry) localChannels() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := make(map[string]struct{}, len(r.clients)+len(r.presence)+len(r.indexed))
	for _, m := range []map[string]bool{r.written, r.indexed} {
		for ch := range m {
			seen[ch] = struct{}{}
		}
	}
	for ch := range r.clients {
		seen[ch] = struct{}{}
	}
	for ch := range r.presence {
		seen[ch] = struct{}{}
	}
	out := make([]string, 0, len(seen))
	for ch := range seen {
		out = append(out, ch)
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
	defer b.reg.lock(channel)()
	if len(sockets) == 0 {
		b.reg.setWritten(channel, false)
		if err := b.removeClients(ctx, b.node, channel); err != nil {
			return err
		}
		b.dropIndexIfIdle(ctx, channel)
		return nil
	}
	kv, token := b.reg.kv(), channelToken(channel)
	if err := b.ensureIndex(ctx, channel); err != nil {
		return err
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

// removeClients removes node's subscribers of channel, reporting the
// channel vacated if node was its last.
func (b *Broker) removeClients(ctx context.Context, node, channel string) error {
	kv, token := b.reg.kv(), channelToken(channel)
	n, err := updateNodes(ctx, kv.clients, token, node, false)
	if err != nil {
		return err
	}
	b.reportOccupancy(channel, n)
	return deleteKey(ctx, kv.clients, socketsKey(token, node))
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
