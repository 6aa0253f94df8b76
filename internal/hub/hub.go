// Package hub is the one local fan-out engine: it knows which local
// connections are subscribed to which channel and delivers envelopes to
// them. Every broker ends here: the in-memory broker by calling Deliver
// in the publisher's goroutine, a distributed one from its receiving
// loop.
//
// # Concurrency
//
// The registry is split in shards by channel name, each guarded by a
// RWMutex. Deliver holds a shard's read lock while it encodes the frame
// (once per codec in use) and enqueues it on each subscriber;
// Subscriber.Send must therefore never block and never call back into the
// hub. No socket I/O happens under a hub lock.
package hub

import (
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/velocitykode/velocity/broadcast/broker"
)

// Subscriber is a local connection as the hub sees it.
type Subscriber interface {
	// SocketID identifies the connection (for ToOthers exclusion).
	SocketID() string
	// Codec is the index, in the list given to New, of the codec of the
	// wire protocol this connection speaks.
	Codec() int
	// Send enqueues a frame without blocking. It returns false when the
	// frame was not accepted (the connection is closing, or its queue
	// overflowed and it closes itself as a slow consumer).
	Send(frame []byte) bool
	// SendKeyed is Send for an event with a conflation key: a subscriber
	// that has fallen behind may replace its queued frame with the same
	// channel and key by this one.
	SendKeyed(frame []byte, channel, key string) bool
}

// Codec turns a message into the bytes of one complete WebSocket frame of
// its protocol. The frame is built once per delivery and shared, read-only,
// by every subscriber speaking that protocol.
type Codec interface {
	EncodeEvent(channel string, e *broker.Envelope) []byte
}

const numShards = 64

// Hub is a registry of channel subscriptions with a delivery method.
// Build one with New.
type Hub struct {
	codecs []Codec
	seed   maphash.Seed
	shards [numShards]shard

	dropped atomic.Uint64
	byCodec []atomic.Uint64 // frames accepted, per codec; their sum is Stats.Delivered
}

type shard struct {
	mu       sync.RWMutex
	channels map[string]*subscribers
}

type subscribers struct {
	list  []Subscriber
	marks []mark // per list entry
	index map[Subscriber]int
}

// mark is what a subscriber already has of its channel when it joined:
// the presence version of its member list, and the stream offset up to
// which it got (or need not get) the channel's publications.
type mark struct {
	since uint64
	pos   broker.Position
}

// New returns a hub that encodes with codecs; a subscriber's Codec()
// indexes this list. Any number of codecs may be given.
func New(codecs ...Codec) *Hub {
	h := &Hub{codecs: codecs, seed: maphash.MakeSeed(), byCodec: make([]atomic.Uint64, len(codecs))}
	for i := range h.shards {
		h.shards[i].channels = make(map[string]*subscribers)
	}
	return h
}

func (h *Hub) shard(channel string) *shard {
	return &h.shards[maphash.String(h.seed, channel)%numShards]
}

// Add subscribes s to channel. It reports whether s was added (false when
// it already was) and whether it is the channel's first local subscriber.
func (h *Hub) Add(channel string, s Subscriber) (added, first bool) {
	sh := h.shard(channel)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return h.addLocked(sh, channel, s, mark{})
}

func (h *Hub) addLocked(sh *shard, channel string, s Subscriber, m mark) (added, first bool) {
	set := sh.channels[channel]
	if set == nil {
		set = &subscribers{index: make(map[Subscriber]int, 1)}
		sh.channels[channel] = set
	}
	if _, ok := set.index[s]; ok {
		return false, false
	}
	set.index[s] = len(set.list)
	set.list = append(set.list, s)
	set.marks = append(set.marks, m)
	return true, len(set.list) == 1
}

// AddAndSend subscribes s to channel and queues frame on it as one step:
// under the shard's write lock no delivery to the channel is in progress,
// so frame (a subscription acknowledgement) precedes every event of the
// channel that s receives, and every event published after s could see
// frame reaches s. since is the presence version of the member list in
// frame (0 for none): s will not get messages whose Version is at or
// below it, as its list already reflects them, nor those whose Epoch is
// above it (members restated for lists newer than s's).
func (h *Hub) AddAndSend(channel string, s Subscriber, frame []byte, since uint64) (added, first bool) {
	sh := h.shard(channel)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	added, first = h.addLocked(sh, channel, s, mark{since: since})
	if added {
		s.Send(frame)
	}
	return added, first
}

// AddAndSendFrom is AddAndSend for a channel with history: frames (the
// acknowledgement, then any replayed publications) are queued in the
// step that adds s, and s will not get the channel's publications of
// pos's epoch at or below its offset, which it has or need not have.
func (h *Hub) AddAndSendFrom(channel string, s Subscriber, frames [][]byte, since uint64, pos broker.Position) (added, first bool) {
	sh := h.shard(channel)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	added, first = h.addLocked(sh, channel, s, mark{since: since, pos: pos})
	if added {
		for _, f := range frames {
			s.Send(f)
		}
	}
	return added, first
}

// Remove unsubscribes s from channel. It reports whether s was subscribed
// and whether the channel has no local subscriber left.
func (h *Hub) Remove(channel string, s Subscriber) (removed, last bool) {
	sh := h.shard(channel)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	set := sh.channels[channel]
	if set == nil {
		return false, false
	}
	i, ok := set.index[s]
	if !ok {
		return false, false
	}
	end := len(set.list) - 1
	if i != end {
		moved := set.list[end]
		set.list[i] = moved
		set.marks[i] = set.marks[end]
		set.index[moved] = i
	}
	set.list[end] = nil
	set.list = set.list[:end]
	set.marks = set.marks[:end]
	delete(set.index, s)
	if end == 0 {
		delete(sh.channels, channel)
		return true, true
	}
	return true, false
}

// Count returns the number of local subscribers of channel.
func (h *Hub) Count(channel string) int {
	sh := h.shard(channel)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	if set := sh.channels[channel]; set != nil {
		return len(set.list)
	}
	return 0
}

// SocketIDs returns the socket ids of channel's local subscribers.
func (h *Hub) SocketIDs(channel string) []string {
	sh := h.shard(channel)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	set := sh.channels[channel]
	if set == nil {
		return []string{}
	}
	ids := make([]string, len(set.list))
	for i, s := range set.list {
		ids[i] = s.SocketID()
	}
	return ids
}

// Channels returns every channel with at least one local subscriber.
func (h *Hub) Channels() []string {
	var out []string
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		for ch := range sh.channels {
			out = append(out, ch)
		}
		sh.mu.RUnlock()
	}
	return out
}

// Deliver sends e to every local subscriber of each of its channels except
// the connection e.Except. It returns the number of frames accepted.
func (h *Hub) Deliver(e *broker.Envelope) int {
	n := 0
	for _, ch := range e.Channels {
		n += h.deliver(ch, e)
	}
	return n
}

// inlineCodecs is how many codecs' frames Deliver keeps on its stack;
// more codecs cost one allocation per delivery.
const inlineCodecs = 4

func (h *Hub) deliver(channel string, m *broker.Envelope) int {
	var inline [inlineCodecs][]byte
	var inlineN [inlineCodecs]int
	frames := inline[:]    // per codec, built on first use
	accepted := inlineN[:] // per codec
	if len(h.codecs) > inlineCodecs {
		frames = make([][]byte, len(h.codecs))
		accepted = make([]int, len(h.codecs))
	}
	sh := h.shard(channel)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	set := sh.channels[channel]
	if set == nil {
		return 0
	}
	n, dropped := 0, 0
	key := m.Conflate
	for i, s := range set.list {
		if m.Except != "" && s.SocketID() == m.Except {
			continue
		}
		if m.Version != 0 && (m.Version <= set.marks[i].since || set.marks[i].since < m.Epoch) {
			continue
		}
		if m.Position.Offset != 0 && m.Position.Offset <= set.marks[i].pos.Offset && m.Position.Epoch == set.marks[i].pos.Epoch {
			continue
		}
		c := s.Codec()
		f := frames[c]
		if f == nil {
			f = h.codecs[c].EncodeEvent(channel, m)
			frames[c] = f
		}
		var ok bool
		if key == "" {
			ok = s.Send(f)
		} else {
			ok = s.SendKeyed(f, channel, key)
		}
		if ok {
			n++
			accepted[c]++
		} else {
			dropped++
		}
	}
	for c, k := range accepted[:len(h.codecs)] {
		if k > 0 {
			h.byCodec[c].Add(uint64(k))
		}
	}
	if dropped > 0 {
		h.dropped.Add(uint64(dropped))
	}
	return n
}

// Stats is a snapshot of the hub's counters.
type Stats struct {
	Channels      int    `json:"channels"`
	Subscriptions int    `json:"subscriptions"`
	Delivered     uint64 `json:"delivered"`
	Dropped       uint64 `json:"dropped"`
}

// DeliveredBy returns the frames accepted since New per codec, indexed
// as the codecs given to New.
func (h *Hub) DeliveredBy() []uint64 {
	out := make([]uint64, len(h.byCodec))
	for i := range h.byCodec {
		out[i] = h.byCodec[i].Load()
	}
	return out
}

// Stats returns current counts. Delivered and Dropped are totals since New.
func (h *Hub) Stats() Stats {
	st := Stats{Dropped: h.dropped.Load()}
	for i := range h.byCodec {
		st.Delivered += h.byCodec[i].Load()
	}
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		st.Channels += len(sh.channels)
		for _, set := range sh.channels {
			st.Subscriptions += len(set.list)
		}
		sh.mu.RUnlock()
	}
	return st
}
