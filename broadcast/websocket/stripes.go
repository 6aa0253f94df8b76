package websocket

import (
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/velocitykode/velocity/broadcast/broker"
)

// Channel state.
//
// Every channel with local subscribers, or with remote work pending, has a
// chanState, found through one of 64 stripes by channel name. A stripe's
// mutex guards the states of its channels only, and is never held across
// a broker, presence or registry call: it covers the local hub join and
// the decision of what must run remotely.
//
// The remote work of a channel (subscribing the node on the broker,
// presence joins and leaves with their member events, unsubscribing the
// node) runs in order on the channel's executor: a goroutine started when
// work is queued, which exits when the queue is empty. So the node
// subscribes once for its first local subscriber, a last-leave
// unsubscribe and a new join are ordered, and this node's member events
// go out in the order of its presence changes: the executor is the
// channel's ordered outbox. Channels never wait for each other.
//
// Member events from other nodes (they carry a presence version) are
// ordered against presence joins. A joiner reads its member list while the
// node is subscribed, but enters the hub only after the read: an event of
// a later change arriving in between would miss it. While a join is in
// that window, the channel's incoming messages are parked, in order, and
// delivered once the joiner is in the hub, which drops the events its
// list already reflects (the since of the hub's AddAndSend). Messages of
// channels without such a window go straight to the hub.
type stripes struct {
	mu      [64]sync.Mutex
	chans   [64]map[string]*chanState
	windows [64]atomic.Int32 // channels of the stripe in a join window
}

// Bounds of a channel's queues.
const (
	// maxChannelOps is how many joins may wait on one channel's
	// executor; one more is refused with 4500 (retry later). Leaves and
	// unsubscribes are always queued: each follows a join that was.
	maxChannelOps = 1024
	// maxParked is how many messages may wait for one channel's join
	// window; at the bound the parked messages and the new one are
	// delivered at once (the joiner may then miss a member event).
	maxParked = 8192
)

// chanState is one channel's state; its stripe's mutex guards it.
type chanState struct {
	refs       int  // local subscriptions joined or joining
	subscribed bool // the node is subscribed to the channel on the broker
	ops        []func()
	joins      int  // joins among ops
	running    bool // the executor goroutine is running
	window     bool // a presence join in its window, or its parked messages draining
	parked     []*broker.Envelope

	// Channels with history (see sequence.go).
	pos     broker.Position // the last publication delivered here (Epoch "": none yet)
	filling bool            // a fill from history is queued or running; the window stays open
	refill  bool            // a publication was dropped at maxParked: fill when the window closes
	batch   []*pendingJoin  // joins sharing the next stream read (batch.go)
}

func (st *chanState) idle() bool {
	return st.refs == 0 && !st.subscribed && !st.running && len(st.ops) == 0 && !st.window
}

func (s *Server) stripe(channel string) int {
	return int(maphash.String(s.seed, channel) % uint64(len(s.stripes.mu)))
}

// stateLocked returns channel's state, creating it; the caller holds
// stripe i.
func (s *Server) stateLocked(i int, channel string) *chanState {
	m := s.stripes.chans[i]
	if m == nil {
		m = make(map[string]*chanState)
		s.stripes.chans[i] = m
	}
	st := m[channel]
	if st == nil {
		st = &chanState{}
		m[channel] = st
	}
	return st
}

// forgetLocked drops channel's state once nothing refers to it, unless
// the channel already has a newer state.
func (s *Server) forgetLocked(i int, channel string, st *chanState) {
	if st.idle() && s.stripes.chans[i][channel] == st {
		delete(s.stripes.chans[i], channel)
	}
}

// beginJoin counts a new local subscription of channel. When the node is
// already subscribed and no remote work of the channel is queued, a join
// needs nothing remote: unless presence, c enters the hub at once with
// frame and beginJoin reports true.
func (s *Server) beginJoin(c *client, channel string, presence bool, frame func() []byte) bool {
	i := s.stripe(channel)
	mu := &s.stripes.mu[i]
	mu.Lock()
	defer mu.Unlock()
	st := s.stateLocked(i, channel)
	st.refs++
	if presence || !st.subscribed || st.running || len(st.ops) > 0 {
		return false
	}
	s.hub.AddAndSend(channel, c, frame(), 0)
	return true
}

// unref ends a local subscription of channel (after a leave or a failed
// join); the last one queues the node's unsubscribe unless remote is
// false (Shutdown: closing the broker cleans up the node).
func (s *Server) unref(channel string, remote bool) {
	i := s.stripe(channel)
	mu := &s.stripes.mu[i]
	mu.Lock()
	st := s.stateLocked(i, channel)
	st.refs--
	queue := remote && st.refs == 0 && (st.subscribed || st.running)
	if !queue {
		s.forgetLocked(i, channel, st)
	}
	mu.Unlock()
	if queue {
		s.enqueue(channel, s.unsubscribeIfIdle(channel), false)
	}
}

// enqueue queues op on channel's executor, starting it if needed. A join
// (join true) is refused when maxChannelOps joins already wait.
func (s *Server) enqueue(channel string, op func(), join bool) bool {
	i := s.stripe(channel)
	mu := &s.stripes.mu[i]
	mu.Lock()
	st := s.stateLocked(i, channel)
	if join && st.joins >= maxChannelOps {
		mu.Unlock()
		return false
	}
	if join {
		op = countedJoin(s, i, st, op)
		st.joins++
	}
	s.enqueueLocked(i, channel, st, op)
	mu.Unlock()
	return true
}

// enqueueLocked queues op on st's executor, starting it if needed; the
// caller holds stripe i.
func (s *Server) enqueueLocked(i int, channel string, st *chanState, op func()) {
	st.ops = append(st.ops, op)
	if !st.running {
		st.running = true
		s.bg.add()
		go s.runChannel(i, channel, st)
	}
}

// countedJoin wraps a join so that it leaves the count of waiting joins
// when it starts.
func countedJoin(s *Server, i int, st *chanState, op func()) func() {
	return func() {
		s.stripes.mu[i].Lock()
		st.joins--
		s.stripes.mu[i].Unlock()
		op()
	}
}

// runChannel is channel's executor: it runs the queued ops in order and
// exits when none is left.
func (s *Server) runChannel(i int, channel string, st *chanState) {
	defer s.bg.done()
	mu := &s.stripes.mu[i]
	for {
		mu.Lock()
		if len(st.ops) == 0 {
			st.running = false
			st.ops = nil
			s.forgetLocked(i, channel, st)
			mu.Unlock()
			return
		}
		op := st.ops[0]
		st.ops[0] = nil
		st.ops = st.ops[1:]
		mu.Unlock()
		op()
	}
}

// nodeState reports whether the node is subscribed to channel and how
// many local subscriptions it counts.
func (s *Server) nodeState(channel string) (subscribed bool, refs int) {
	i := s.stripe(channel)
	s.stripes.mu[i].Lock()
	defer s.stripes.mu[i].Unlock()
	if st := s.stripes.chans[i][channel]; st != nil {
		return st.subscribed, st.refs
	}
	return false, 0
}

// setSubscribed records the node's broker subscription of channel.
func (s *Server) setSubscribed(channel string, on bool) {
	i := s.stripe(channel)
	s.stripes.mu[i].Lock()
	st := s.stateLocked(i, channel)
	changed := st.subscribed != on
	st.subscribed = on
	s.stripes.mu[i].Unlock()
	if changed {
		s.nodeOccupancy(channel, on)
	}
}

// openWindow starts a presence join's window on channel: its incoming
// messages park until closeWindow.
func (s *Server) openWindow(channel string) {
	i := s.stripe(channel)
	s.stripes.mu[i].Lock()
	s.openWindowLocked(i, s.stateLocked(i, channel))
	s.stripes.mu[i].Unlock()
}

func (s *Server) openWindowLocked(i int, st *chanState) {
	if !st.window {
		st.window = true
		s.stripes.windows[i].Add(1)
	}
}

// closeWindow delivers what parked on channel, in order, then ends the
// window. A message arriving meanwhile still parks behind them. While a
// fill from history is pending the window stays open: the fill closes it.
func (s *Server) closeWindow(channel string) {
	i := s.stripe(channel)
	mu := &s.stripes.mu[i]
	for {
		mu.Lock()
		st := s.stateLocked(i, channel)
		if st.filling {
			mu.Unlock()
			return
		}
		parked := st.parked
		st.parked = nil
		if len(parked) == 0 {
			if st.refill && st.pos.Epoch != "" {
				st.refill = false
				s.startFillLocked(i, channel, st)
				mu.Unlock()
				return
			}
			if st.window {
				st.window = false
				s.stripes.windows[i].Add(-1)
			}
			s.forgetLocked(i, channel, st)
			mu.Unlock()
			return
		}
		mu.Unlock()
		for k, m := range parked {
			if m.Position.Offset == 0 {
				s.hub.Deliver(m)
				continue
			}
			mu.Lock()
			if !s.admitLocked(i, channel, st, m) {
				// A gap: m and what follows wait for the fill.
				st.parked = append(parked[k:len(parked):len(parked)], st.parked...)
				mu.Unlock()
				return
			}
			mu.Unlock()
		}
	}
}

// deliverOrdered delivers a single-channel message from the broker: at
// once unless its channel is in a join window, else after what parked.
func (s *Server) deliverOrdered(m *broker.Envelope) {
	if m.Position.Offset != 0 {
		s.deliverPositioned(m)
		return
	}
	ch := m.Channels[0]
	i := s.stripe(ch)
	if s.stripes.windows[i].Load() == 0 {
		s.hub.Deliver(m)
		return
	}
	mu := &s.stripes.mu[i]
	mu.Lock()
	st := s.stripes.chans[i][ch]
	if st == nil || !st.window {
		mu.Unlock()
		s.hub.Deliver(m)
		return
	}
	if len(st.parked) < maxParked {
		st.parked = append(st.parked, m)
		mu.Unlock()
		return
	}
	if st.filling || st.pos.Epoch != "" {
		// A channel with history: its parked publications must go through
		// the sequencer, so this message (a member event, a whisper) is
		// dropped rather than flushing them out of order.
		mu.Unlock()
		s.logger.Warn("websocket: join window full, dropping a message without a stream position", "channel", ch, "event", m.Event)
		return
	}
	// Without history, the parked messages and this one go out at once;
	// the joiner may then miss a member event.
	parked := st.parked
	st.parked = nil
	mu.Unlock()
	s.logger.Warn("websocket: join window overflowed, delivering parked messages", "channel", ch, "parked", len(parked))
	for _, p := range parked {
		s.hub.Deliver(p)
	}
	s.hub.Deliver(m)
}
