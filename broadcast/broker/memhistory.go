package broker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
)

// memHistory keeps the streams of a single process's channels with
// history. Each stream has its own mutex, held while a publication gets
// its offset and is stored; delivery happens outside it, one publisher
// of a channel at a time (see publish), so the offsets of a channel reach
// deliver in order, none skipped or repeated.
type memHistory struct {
	mu        sync.Mutex
	streams   map[string]*memStream
	lastSweep time.Time
	now       func() time.Time
}

type memStream struct {
	mu     sync.Mutex
	epoch  string
	offset uint64
	items  []*Envelope
	at     []time.Time // when each item was published
	touch  time.Time   // last publication (or creation)
	ttl    time.Duration
	dead   bool // forgotten by a sweep: a publish that holds it takes a new one

	// Delivery (see publish). While delivering, one publisher owns the
	// stream's delivery; the others append their publications to pending,
	// in offset order, and return.
	delivering bool
	pending    []*Envelope
	spare      []*Envelope   // the owner's last batch, reused
	served     int           // publications the current owner delivered
	room       chan struct{} // closed when pending shrinks (nil: no one waits)
	baton      chan struct{} // closed when the owner hands delivery over (nil: no successor)
}

// Bounds of a channel's combined delivery (see publish).
const (
	// maxPending bounds the publications of one channel waiting for its
	// delivering publisher; a publisher that finds the queue full waits
	// for room (or becomes the successor, below).
	maxPending = 1024
	// maxBatch is how many queued publications the owner delivers
	// between two looks at the queue.
	maxBatch = 64
	// maxTenure is how many publications an owner delivers before the
	// next publisher to arrive becomes its successor: that one waits for
	// the owner's batch to end and takes delivery over. So a Publish
	// delivers at most about maxTenure+maxBatch publications of others
	// while publishers keep arriving, and what is still queued (at most
	// maxPending) when they stop.
	maxTenure = 64
)

// sweepEvery is how often publishing looks for streams whose whole
// history expired, to forget them.
const sweepEvery = time.Second

func newEpoch() string { return strconv.FormatUint(rand.Uint64(), 36) }

// existing returns channel's stream, or nil. Reads never create a
// stream: only publishing uses memory.
func (h *memHistory) existing(channel string) *memStream {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.streams[channel]
}

// stream returns channel's stream, creating it. A stream untouched for its
// TTL is forgotten (so its next one has a new epoch).
func (h *memHistory) stream(channel string, ttl time.Duration, now time.Time) *memStream {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.streams == nil {
		h.streams = make(map[string]*memStream)
	}
	if now.Sub(h.lastSweep) >= sweepEvery {
		h.lastSweep = now
		for ch, st := range h.streams {
			st.mu.Lock()
			if now.Sub(st.touch) > st.ttl && !st.delivering {
				delete(h.streams, ch)
				st.dead = true
			}
			st.mu.Unlock()
		}
	}
	st := h.streams[channel]
	if st == nil {
		st = &memStream{epoch: newEpoch(), touch: now, ttl: ttl}
		h.streams[channel] = st
	}
	return st
}

// publish assigns e its offset, keeps it and delivers it.
//
// Delivery is combined: the publisher that finds no delivery of the
// channel running delivers its publication, then whatever other
// publishers queued meanwhile, in offset order and in batches of
// maxBatch, until the queue is empty or a successor waits for it; a
// publisher that finds a delivery running queues its publication and
// returns, its publication delivered by the running one. A publisher
// that finds the owner past its tenure (maxTenure) or the queue full
// (maxPending) becomes the successor, if there is none yet, and waits to
// take delivery over; with a successor waiting and the queue full, the
// next ones wait for room. The stream's mutex is not
// held while delivering, so concurrent publishers of a hot channel never
// wait for its fan-out. When every Publish of a channel has returned,
// every publication of the channel has been delivered.
func (h *memHistory) publish(e *Envelope, deliver func(*Envelope)) error {
	if len(e.Channels) != 1 {
		return fmt.Errorf("broker: an envelope with history names one channel, not %d", len(e.Channels))
	}
	now := h.now()
	r := *e.Retention
	var st *memStream
	owner := false // this publisher owns the stream's delivery (it waited for the baton)
	for {
		if st == nil {
			st = h.stream(e.Channels[0], r.TTL, now)
		}
		st.mu.Lock()
		if st.dead { // swept between stream and Lock, or while waiting
			st.mu.Unlock()
			st = nil
			continue
		}
		if owner || !st.delivering {
			break
		}
		var wait chan struct{}
		switch {
		case st.baton == nil && (st.served >= maxTenure || len(st.pending) >= maxPending):
			st.baton = make(chan struct{})
			wait, owner = st.baton, true
		case len(st.pending) >= maxPending:
			if st.room == nil {
				st.room = make(chan struct{})
			}
			wait = st.room
		}
		if wait == nil {
			break // queue p for the owner
		}
		st.mu.Unlock()
		<-wait
	}
	st.offset++
	st.touch, st.ttl = now, r.TTL
	p := *e
	p.Position = Position{Offset: st.offset, Epoch: st.epoch}
	st.items = append(st.items, &p)
	st.at = append(st.at, now)
	st.trim(r, now)
	if !owner {
		if st.delivering {
			st.pending = append(st.pending, &p)
			st.mu.Unlock()
			return nil
		}
		st.delivering = true
	}
	// Owning delivery, what is queued precedes p.
	st.served = 0
	st.pending = append(st.pending, &p)
	st.drain(deliver)
	return nil
}

// drain delivers the queued publications, in batches, while the caller
// owns the stream's delivery; it returns when the queue is empty (the
// stream then has no delivery running) or when a successor waits (it then
// owns delivery). The caller holds st.mu, which drain releases.
func (st *memStream) drain(deliver func(*Envelope)) {
	for {
		if len(st.pending) == 0 {
			st.delivering = false
			st.mu.Unlock()
			return
		}
		n := min(len(st.pending), maxBatch)
		batch := append(st.spare[:0], st.pending[:n]...)
		st.spare = nil
		rest := copy(st.pending, st.pending[n:])
		clear(st.pending[rest:])
		st.pending = st.pending[:rest]
		if st.room != nil {
			close(st.room)
			st.room = nil
		}
		st.mu.Unlock()
		for _, m := range batch {
			deliver(m)
		}
		clear(batch)
		st.mu.Lock()
		st.spare = batch[:0]
		st.served += n
		if st.baton != nil {
			close(st.baton)
			st.baton = nil
			st.mu.Unlock()
			return
		}
	}
}

// trim drops what falls outside r.
func (st *memStream) trim(r Retention, now time.Time) {
	drop := 0
	if n := len(st.items) - r.Size; n > 0 {
		drop = n
	}
	for drop < len(st.at) && now.Sub(st.at[drop]) > r.TTL {
		drop++
	}
	if drop > 0 {
		clear(st.items[:drop])
		st.items, st.at = st.items[drop:], st.at[drop:]
	}
}

// read answers a History call.
func (h *memHistory) read(channel string, q HistoryQuery) HistoryResult {
	now := h.now()
	st := h.existing(channel)
	if st == nil {
		return HistoryResult{} // no history yet: offset 0, no epoch
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.trim(q.Retention, now)
	res := selectPublications(HistoryResult{Position: Position{Offset: st.offset, Epoch: st.epoch}}, st.items, q)
	for _, p := range res.Publications { // items have contiguous offsets
		res.Ages = append(res.Ages, now.Sub(st.at[p.Position.Offset-st.items[0].Position.Offset]))
	}
	return res
}

// selectPublications fills res with the publications of items (oldest
// first, contiguous offsets) that q selects.
func selectPublications(res HistoryResult, items []*Envelope, q HistoryQuery) HistoryResult {
	limit := q.Limit
	if limit < 0 {
		return res
	}
	if limit == 0 || limit > q.Retention.Size {
		limit = q.Retention.Size
	}
	if q.Recover {
		i := 0
		for i < len(items) && items[i].Position.Offset <= q.After {
			i++
		}
		items = items[i:]
		if len(items) > limit {
			items = items[:limit]
		}
	} else if len(items) > limit {
		items = items[len(items)-limit:]
	}
	res.Publications = append([]*Envelope(nil), items...)
	return res
}

// History implements Historian.
func (b *Memory) History(_ context.Context, channel string, q HistoryQuery) (HistoryResult, error) {
	if b.closed.Load() {
		return HistoryResult{}, ErrClosed
	}
	return b.history.read(channel, q), nil
}
