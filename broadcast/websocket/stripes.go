package websocket

import (
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/velocitykode/velocity/broadcast/broker"
)

// Joins and leaves of a channel are serialized by a stripe lock (one of
// 64, by channel name): broker subscription, presence change and hub
// change happen as one step per channel.
//
// Presence member events that come from other nodes (they carry a
// presence version) are ordered against those steps too. A joiner's
// member list is read from the shared store while this node is already
// subscribed to the channel, but the joiner enters the hub only at the end
// of its step: an event of a later change that arrives in between would
// miss it. So a versioned member event that finds its stripe busy is
// parked and delivered by whoever holds the lock, just before releasing
// it: after the joiner entered the hub, which then drops the events that
// its list already reflects (the since of the hub's AddAndSend).
//
// While anything is parked on a stripe, every other message for its
// channels is parked behind it too, so that nothing overtakes a member
// event (a whisper from a user before the member_added that introduces
// them). When nothing is parked, ordinary messages go straight to the hub
// and never wait for a stripe.
type stripes struct {
	locks  [64]sync.Mutex
	mu     [64]sync.Mutex         // guards parked
	parked [64][]*broker.Envelope // messages waiting for the lock, in order
	held   [64]atomic.Int32       // parked or being delivered from parked
}

func (s *Server) stripe(channel string) int {
	return int(maphash.String(s.seed, channel) % uint64(len(s.stripes.locks)))
}

// lockChannel takes channel's stripe lock and returns the stripe for
// unlockChannel.
func (s *Server) lockChannel(channel string) int {
	i := s.stripe(channel)
	s.stripes.locks[i].Lock()
	return i
}

// unlockChannel delivers the messages parked on stripe i, then releases
// it.
func (s *Server) unlockChannel(i int) {
	st := &s.stripes
	for {
		st.mu[i].Lock()
		parked := st.parked[i]
		st.parked[i] = nil
		st.mu[i].Unlock()
		for _, m := range parked {
			s.hub.Deliver(m)
		}
		// Counted down only once delivered: a message arriving meanwhile
		// still sees the stripe held and queues behind these.
		st.held[i].Add(-int32(len(parked)))
		if len(parked) > 0 {
			continue
		}
		st.locks[i].Unlock()
		// A message parked after the check above found the lock still
		// held; take the lock back to deliver it unless someone else has.
		if st.held[i].Load() == 0 || !st.locks[i].TryLock() {
			return
		}
	}
}

// deliverOrdered delivers a single-channel message from the broker: at
// once when its stripe is idle and nothing is parked on it, else after
// what is parked, by whoever holds the stripe.
func (s *Server) deliverOrdered(m *broker.Envelope) {
	i := s.stripe(m.Channels[0])
	st := &s.stripes
	if m.Version == 0 && st.held[i].Load() == 0 {
		s.hub.Deliver(m)
		return
	}
	st.mu[i].Lock()
	st.parked[i] = append(st.parked[i], m)
	st.held[i].Add(1)
	st.mu[i].Unlock()
	if st.locks[i].TryLock() {
		s.unlockChannel(i)
	}
}
