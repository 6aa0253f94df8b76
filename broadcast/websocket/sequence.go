package websocket

import (
	"github.com/velocitykode/velocity/broadcast/broker"
)

// Node-level sequencing of channels with history.
//
// Every publication of a channel with history carries its offset, and
// the node remembers the last one it delivered (chanState.pos). A
// publication is delivered when it is the next one; one already delivered
// (a fill overlapping live delivery) is dropped; one past a gap (the
// node's broker subscription lost messages, or it was interrupted: the
// broker's resync) opens the channel's window, so that live publications
// park, and queues a fill on the channel's executor: read the stream
// after the last delivered offset, deliver what is missing in order, then
// drain the parked ones. When the stream no longer holds the gap (or the
// read fails), the channel's local subscribers are taken out of the hub at
// once (so that no later publication makes their position look complete)
// and closed with CodeResync, as for a channel without history; they
// recover by themselves with a since, which is then answered
// recovered:false.
//
// Positioned deliveries hold the stripe's mutex across hub.Deliver (which
// only enqueues), so a fill and live delivery never interleave.

// deliverPositioned delivers a publication of a channel with history.
func (s *Server) deliverPositioned(m *broker.Envelope) {
	ch := m.Channels[0]
	i := s.stripe(ch)
	mu := &s.stripes.mu[i]
	mu.Lock()
	defer mu.Unlock()
	st := s.stripes.chans[i][ch]
	if st == nil {
		return // no local subscriber, and none joining
	}
	if st.window {
		if len(st.parked) < maxParked {
			st.parked = append(st.parked, m)
		} else {
			st.refill = true // the fill after the window brings it
		}
		return
	}
	if !s.admitLocked(i, ch, st, m) {
		s.openWindowLocked(i, st)
		st.parked = append(st.parked, m)
	}
}

// admitLocked delivers m if it is the channel's next publication, drops
// it if it was delivered already, and reports false on a gap, having
// queued the fill; the caller then parks m. The caller holds stripe i.
func (s *Server) admitLocked(i int, ch string, st *chanState, m *broker.Envelope) bool {
	p := m.Position
	switch {
	case st.pos.Epoch == "" || p.Epoch != st.pos.Epoch || p.Offset == st.pos.Offset+1:
		st.pos = p
		s.hub.Deliver(m)
	case p.Offset <= st.pos.Offset:
	default:
		if !st.filling {
			s.startFillLocked(i, ch, st)
		}
		return false
	}
	return true
}

// startFillLocked opens st's window and queues a fill; the caller holds
// stripe i.
func (s *Server) startFillLocked(i int, ch string, st *chanState) {
	s.openWindowLocked(i, st)
	st.filling = true
	s.enqueueLocked(i, ch, st, func() { s.fill(i, ch, st) })
}

// resyncFill starts a fill of a channel with history after a broker
// interruption. It reports false when the node knows no position of the
// channel to fill from.
func (s *Server) resyncFill(ch string) bool {
	if s.retention(ch) == nil {
		return false
	}
	i := s.stripe(ch)
	mu := &s.stripes.mu[i]
	mu.Lock()
	defer mu.Unlock()
	st := s.stripes.chans[i][ch]
	if st == nil || st.pos.Epoch == "" {
		return false
	}
	if !st.filling {
		s.startFillLocked(i, ch, st)
	}
	return true
}

// fill is the executor step that fills a channel's gap from its stream.
func (s *Server) fill(i int, ch string, st *chanState) {
	mu := &s.stripes.mu[i]
	mu.Lock()
	from := st.pos
	mu.Unlock()
	ret := s.retention(ch)
	var res broker.HistoryResult
	var err error = broker.ErrNoHistoryStore
	if ret != nil {
		res, err = s.readHistory(s.ctx, ch, broker.HistoryQuery{Retention: *ret, After: from.Offset, Recover: true})
	}
	ok := err == nil && covers(res, from)
	mu.Lock()
	delivered := 0
	if ok {
		for _, p := range res.Publications {
			if p.Position.Epoch == st.pos.Epoch && p.Position.Offset == st.pos.Offset+1 {
				st.pos = p.Position
				s.hub.Deliver(p)
				delivered++
			}
		}
	}
	var detached []string
	if !ok {
		// The channel's subscribers missed publications for good: they get
		// nothing more on it (a later position would make their since look
		// complete) until they resubscribe, closed below.
		detached = s.detachLocked(ch)
		st.pos = broker.Position{}
		if err == nil {
			st.pos = res.Position
		}
	}
	st.filling = false
	mu.Unlock()
	if ok {
		s.stats.gapsFilled.Add(1)
		s.stats.filled.Add(uint64(delivered))
		s.logger.Info("websocket: filled a gap of a channel from its history", "channel", ch, "from", from.Offset, "delivered", delivered)
	} else {
		s.stats.gapsUnfilled.Add(1)
		s.logger.Warn("websocket: history does not cover a gap; its subscribers resubscribe", "channel", ch, "from", from.Offset, "err", err)
		s.closeForResync(detached)
	}
	s.closeWindow(ch)
}

// detachLocked takes channel's local subscribers out of the hub and
// returns their socket ids; their subscriptions end when they are closed.
// The caller holds the channel's stripe.
func (s *Server) detachLocked(ch string) []string {
	ids := s.hub.SocketIDs(ch)
	for _, id := range ids {
		if c := s.sockets.get(id); c != nil {
			s.hub.Remove(ch, c)
		}
	}
	return ids
}

// covers reports whether res holds every publication after from: same
// epoch, and the first one retained after from is from's next.
//
// A from of offset 0 without an epoch is a subscriber that saw the
// channel before anything was stored: every publication since is what it
// missed, so the stream covers it when it still holds them from offset 1.
func covers(res broker.HistoryResult, from broker.Position) bool {
	if from.Epoch == "" && from.Offset == 0 {
		if res.Position.Offset == 0 {
			return true
		}
		from.Epoch = res.Position.Epoch
	}
	if res.Position.Epoch != from.Epoch || res.Position.Offset < from.Offset {
		return false
	}
	if res.Position.Offset == from.Offset {
		return true
	}
	return len(res.Publications) > 0 && res.Publications[0].Position.Offset == from.Offset+1 &&
		res.Publications[len(res.Publications)-1].Position.Offset == res.Position.Offset
}
