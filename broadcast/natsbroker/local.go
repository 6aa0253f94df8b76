package natsbroker

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/internal/engine"
)

// registry is the node's own state in NATS, kept in memory: its
// subscribers and presence connections per channel, what of it is
// written, and the write-behind queue (registry.go). It is the state
// NATS must hold for this node, written again after NATS lost it.
type registry struct {
	mu       sync.Mutex
	clients  map[string]map[string]struct{}         // channel → local sockets
	presence map[string]map[string]broadcast.Member // channel → local socket → member
	written  map[string]bool                        // channels whose o. key lists this node
	indexed  map[string]bool                        // channels in this node's index
	chunks   map[string][]uint64                    // channel → hashes of its written chunks (sockets.go)
	pdirty   map[string]struct{}                    // presence to resync at the next heartbeat
	locks    map[string]*channelLock                // channels with a write in progress
	queue    []string
	queued   map[string]struct{}
	failed   map[string]struct{} // to queue again at the next heartbeat
	brief    map[string]struct{} // unwritten channels that had a subscriber since their last write
	wake     engine.Kick

	kvp      atomic.Pointer[buckets] // set by open
	needFull atomic.Bool             // queue every channel at the next heartbeat
	beatRev  uint64                  // heartbeat loop only
	kick     engine.Kick
}

func (r *registry) init(string) {
	r.clients = make(map[string]map[string]struct{})
	r.presence = make(map[string]map[string]broadcast.Member)
	r.written = make(map[string]bool)
	r.indexed = make(map[string]bool)
	r.chunks = make(map[string][]uint64)
	r.pdirty = make(map[string]struct{})
	r.locks = make(map[string]*channelLock)
	r.queued = make(map[string]struct{})
	r.failed = make(map[string]struct{})
	r.brief = make(map[string]struct{})
	r.wake = engine.NewKick()
	r.kick = engine.NewKick()
}

// open opens the buckets and adopts the heartbeat bucket's MaxAge. It
// reports whether it had to create a bucket.
func (r *registry) open(ctx context.Context, b *Broker) (bool, error) {
	kv, ttl, created, err := ensureBuckets(ctx, b.js, b.opts.Prefix, b.sched.TTL)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if ttl != b.sched.TTL && r.kvp.Load() == nil {
		b.log.Warn("natsbroker: the heartbeat bucket was created with another CleanupBound; following it",
			"bucket_max_age", ttl, "own_ttl", b.sched.TTL)
		if ttl > 0 {
			b.sched.TTL, b.sched.Beat = ttl, ttl/3
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
		if !r.written[channel] {
			r.brief[channel] = struct{}{}
		}
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

func (r *registry) signal() { r.wake.Send() }

// pending is a queued channel's state to write: its sockets now, whether
// NATS lists this node in it, and whether it had a subscriber since it
// was last written while NATS did not list the node (so a subscription
// that came and went before its turn still occupies and vacates it).
type pending struct {
	channel        string
	sockets        []string
	written, brief bool
}

// next takes the first queued channel with a snapshot of its state.
func (r *registry) next() (p pending, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queue) == 0 {
		r.queue = nil
		return pending{}, false
	}
	p.channel, r.queue = r.queue[0], r.queue[1:]
	delete(r.queued, p.channel)
	_, p.brief = r.brief[p.channel]
	delete(r.brief, p.channel)
	p.sockets, p.written = r.socketsLocked(p.channel), r.written[p.channel]
	return p, true
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

// fail leaves p's channel to the next heartbeat, keeping what it has to
// report.
func (r *registry) fail(p pending) {
	r.mu.Lock()
	r.failed[p.channel] = struct{}{}
	if p.brief && !r.written[p.channel] {
		r.brief[p.channel] = struct{}{}
	}
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
		clear(r.chunks)
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

// writtenChunks returns the hashes of channel's chunks as last written.
func (r *registry) writtenChunks(channel string) []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.chunks[channel])
}

// setChunks records the hashes of channel's chunks in NATS (none: no
// chunk).
func (r *registry) setChunks(channel string, hashes []uint64) {
	r.mu.Lock()
	if len(hashes) == 0 {
		delete(r.chunks, channel)
	} else {
		r.chunks[channel] = hashes
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
