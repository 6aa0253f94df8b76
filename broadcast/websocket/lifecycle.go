package websocket

import (
	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
)

// LifecycleSink receives the server's lifecycle events (see
// broadcast.LifecycleKind). *broadcast.Broadcaster implements it: a
// server reports to the broadcaster it is bound to (BindAuthorizer), or
// to the sink of WithLifecycle. Neither method may block: the server
// calls them on its connection and channel paths.
type LifecycleSink interface {
	// Wants reports whether events of kind are wanted; the server builds
	// no event nobody wants.
	Wants(kind broadcast.LifecycleKind) bool
	// Notify takes an event.
	Notify(e broadcast.LifecycleEvent)
}

// WithLifecycle sends the server's lifecycle events to sink instead of
// the broadcaster it gets bound to.
func WithLifecycle(sink LifecycleSink) Option {
	return func(s *Server) {
		if sink != nil {
			s.lifecycle.Store(&sinkBox{sink})
		}
	}
}

type sinkBox struct{ LifecycleSink }

// bindLifecycle makes a the sink when it is one and none was set.
func (s *Server) bindLifecycle(a broadcast.Authorizer) {
	if sink, ok := a.(LifecycleSink); ok {
		s.lifecycle.CompareAndSwap(nil, &sinkBox{sink})
	}
}

// wants reports whether the sink wants kind.
func (s *Server) wants(kind broadcast.LifecycleKind) bool {
	box := s.lifecycle.Load()
	return box != nil && box.Wants(kind)
}

// notify hands e to the sink; callers asked wants first.
func (s *Server) notify(e broadcast.LifecycleEvent) {
	if box := s.lifecycle.Load(); box != nil {
		box.Notify(e)
	}
}

// notifyChannel reports a channel event with no more than its channel.
func (s *Server) notifyChannel(kind broadcast.LifecycleKind, ch string) {
	if s.wants(kind) && !isUserChannel(ch) {
		s.notify(broadcast.LifecycleEvent{Kind: kind, Channel: ch})
	}
}

// notifyConn reports a connection's opening or closing.
func (s *Server) notifyConn(kind broadcast.LifecycleKind, c *client) {
	if s.wants(kind) {
		s.notify(broadcast.LifecycleEvent{Kind: kind, SocketID: c.id, User: c.identity().User, Protocol: c.proto.Name()})
	}
}

// notifySub reports a connection's subscription or its end.
func (s *Server) notifySub(kind broadcast.LifecycleKind, c *client, sub *subscription) {
	if !s.wants(kind) || isUserChannel(sub.channel) {
		return
	}
	e := broadcast.LifecycleEvent{Kind: kind, SocketID: c.id, Channel: sub.channel}
	if sub.member != nil {
		e.UserID = sub.member.UserID
	}
	s.notify(e)
}

// notifyMember reports a member added (m complete) or removed (only its
// user id).
func (s *Server) notifyMember(kind broadcast.LifecycleKind, ch string, m broadcast.Member) {
	if !s.wants(kind) {
		return
	}
	e := broadcast.LifecycleEvent{Kind: kind, Channel: ch, UserID: m.UserID}
	if kind == broadcast.MemberAdded {
		e.Member = &m
	}
	s.notify(e)
}

// nodeOccupancy reports the node's first subscription of a channel and
// its last as the channel's occupancy, unless the broker watches the
// cluster's (one process: the node's is the cluster's).
func (s *Server) nodeOccupancy(ch string, occupied bool) {
	if s.watched {
		return
	}
	if occupied {
		s.notifyChannel(broadcast.ChannelOccupied, ch)
	} else {
		s.notifyChannel(broadcast.ChannelVacated, ch)
	}
}

// watch is the broker's report of the cluster's changes (broker.Watcher).
func (s *Server) watch(c broker.Change) {
	switch c.Kind {
	case broker.ChannelOccupied:
		s.notifyChannel(broadcast.ChannelOccupied, c.Channel)
	case broker.ChannelVacated:
		s.notifyChannel(broadcast.ChannelVacated, c.Channel)
	case broker.MemberAdded:
		s.notifyMember(broadcast.MemberAdded, c.Channel, c.Member)
	case broker.MemberRemoved:
		s.notifyMember(broadcast.MemberRemoved, c.Channel, c.Member)
	}
}
