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
// its offset and is handed to deliver (which only enqueues), so the
// offsets of a channel reach the hub in order.
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
}

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
			if now.Sub(st.touch) > st.ttl {
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
func (h *memHistory) publish(e *Envelope, deliver func(*Envelope)) error {
	if len(e.Channels) != 1 {
		return fmt.Errorf("broker: an envelope with history names one channel, not %d", len(e.Channels))
	}
	now := h.now()
	r := *e.Retention
	st := h.stream(e.Channels[0], r.TTL, now)
	st.mu.Lock()
	for st.dead { // swept between stream and Lock
		st.mu.Unlock()
		st = h.stream(e.Channels[0], r.TTL, now)
		st.mu.Lock()
	}
	defer st.mu.Unlock()
	st.offset++
	st.touch, st.ttl = now, r.TTL
	p := *e
	p.Position = Position{Offset: st.offset, Epoch: st.epoch}
	st.items = append(st.items, &p)
	st.at = append(st.at, now)
	st.trim(r, now)
	deliver(&p)
	return nil
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
