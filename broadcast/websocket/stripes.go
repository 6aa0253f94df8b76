package websocket

import (
	"hash/maphash"
	"sync"

	"github.com/velocitykode/velocity/broadcast"
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
// its list already reflects (hub.AddAndSend's since). Other messages never
// wait for a stripe.
type stripes struct {
	locks  [64]sync.Mutex
	mu     [64]sync.Mutex           // guards parked
	parked [64][]*broadcast.Message // member events waiting for the lock
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

// unlockChannel delivers the member events parked on stripe i, then
// releases it.
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
		if len(parked) > 0 {
			continue
		}
		st.locks[i].Unlock()
		// An event parked after the check above found the lock still
		// held; take the lock back to deliver it unless someone else has.
		st.mu[i].Lock()
		more := len(st.parked[i]) > 0
		st.mu[i].Unlock()
		if !more || !st.locks[i].TryLock() {
			return
		}
	}
}

// deliverMemberEvent delivers a versioned member event now if no join or
// leave of its channel's stripe is running, else parks it for the one
// that is.
func (s *Server) deliverMemberEvent(m *broadcast.Message) {
	i := s.stripe(m.Channels[0])
	st := &s.stripes
	st.mu[i].Lock()
	st.parked[i] = append(st.parked[i], m)
	st.mu[i].Unlock()
	if st.locks[i].TryLock() {
		s.unlockChannel(i)
	}
}
