package websocket

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/internal/protocol"
)

// subscription is one channel a connection joined.
type subscription struct {
	channel string
	member  *broadcast.Member // presence channels only
}

// subscribe runs on c's read goroutine: validate, authorize (outside any
// lock), then join under the channel's stripe lock.
func (s *Server) subscribe(c *client, req protocol.Command) {
	ch := req.Channel
	fail := func(e *ProtocolError) { c.SendControl(c.proto.SubscriptionError(ch, e)) }
	if err := broadcast.ValidateChannel(ch); err != nil {
		fail(protoErr(CodeInvalidChannel, err, "invalid channel name"))
		return
	}
	if _, ok := c.subs[ch]; ok {
		c.sendError(protoErr(CodeAlreadyJoined, nil, "already subscribed to %s", ch), ch)
		return
	}
	if max := s.cfg.MaxSubscriptions; len(c.subs) >= max {
		fail(protoErr(CodeTooManyChannels, nil, "a connection may subscribe to %d channels at most", max))
		return
	}
	ctx := context.Background()
	sub := &subscription{channel: ch}
	if broadcast.RequiresAuth(ch) {
		member, perr := s.authorizeSubscription(ctx, c, req)
		if perr != nil {
			fail(perr)
			return
		}
		if member != nil && len(member.UserInfo) > s.cfg.MaxUserInfoBytes {
			fail(protoErr(CodeMemberTooLarge, nil, "presence user_info is %d bytes, over the limit of %d", len(member.UserInfo), s.cfg.MaxUserInfoBytes))
			return
		}
		sub.member = member
	}
	stripe := s.lockChannel(ch)
	perr := s.joinLocked(ctx, c, sub)
	s.unlockChannel(stripe)
	if perr != nil {
		fail(perr)
		return
	}
	c.subs[ch] = sub
}

// authorizeSubscription decides a private or presence subscription and,
// for presence, returns the member entry.
func (s *Server) authorizeSubscription(ctx context.Context, c *client, req protocol.Command) (*broadcast.Member, *ProtocolError) {
	user, signed, perr := s.subscriptionUser(c, req)
	if perr != nil {
		return nil, perr
	}
	if signed {
		if broadcast.KindOf(req.Channel) == broadcast.KindPresence {
			return memberFromChannelData(req.ChannelData)
		}
		return nil, nil
	}
	m, err := s.authorize(ctx, req.Channel, user)
	if err != nil {
		msg := "subscription refused"
		if errors.Is(err, broadcast.ErrUnauthenticated) {
			msg = "authentication required"
		}
		return nil, protoErr(CodeUnauthorized, err, "%s", msg)
	}
	return m, nil
}

// joinLocked adds c to the channel; the caller holds the channel's stripe
// lock, so broker subscriptions and presence changes of one channel are
// serialized. The success frame is queued in the same step that puts c in
// the hub, so no event of the channel precedes it and none published after
// it is missed.
func (s *Server) joinLocked(ctx context.Context, c *client, sub *subscription) *ProtocolError {
	ch := sub.channel
	subscribedNode := false
	if s.hub.Count(ch) == 0 {
		if err := s.broker.Subscribe(ctx, ch); err != nil {
			s.logger.Error("websocket: broker subscribe failed", "channel", ch, "err", err)
			return protoErr(CodeInternal, err, "subscription unavailable, retry later")
		}
		subscribedNode = true
	}
	var members []broadcast.Member
	var version uint64
	first := false
	if sub.member != nil {
		var err error
		first, members, version, err = s.presence.Join(ctx, ch, c.id, *sub.member)
		if err != nil {
			if subscribedNode {
				_ = s.broker.Unsubscribe(ctx, ch)
			}
			s.logger.Error("websocket: presence join failed", "channel", ch, "err", err)
			return protoErr(CodeInternal, err, "presence unavailable, retry later")
		}
	}
	// Recorded before the acknowledgement, so GetClients lists every
	// connection that was told it is subscribed.
	if s.registry != nil {
		if err := s.registry.AddClient(ctx, ch, c.id); err != nil {
			s.logger.Warn("websocket: record subscriber failed", "channel", ch, "err", err)
		}
	}
	// c skips member events its list already reflects: those of changes
	// at or before version, which may still be on their way to this node.
	s.hub.AddAndSend(ch, c, c.proto.Subscribed(ch, members), version)
	if first {
		data, _ := json.Marshal(sub.member)
		e := broker.New(ch, broker.EventMemberAdded, data)
		e.Except, e.Version = c.id, version
		s.publishInternal(ctx, e)
	}
	return nil
}

// unsubscribe runs on c's read goroutine.
func (s *Server) unsubscribe(c *client, ch string) {
	sub, ok := c.subs[ch]
	if !ok {
		c.sendError(protoErr(CodeNotSubscribed, nil, "not subscribed to %s", protocol.Truncate(ch)), "")
		return
	}
	delete(c.subs, ch)
	s.leave(c, sub)
}

// leaveAll removes c from every channel; the read goroutine calls it last.
func (s *Server) leaveAll(c *client) {
	for ch, sub := range c.subs {
		delete(c.subs, ch)
		s.leave(c, sub)
	}
}

func (s *Server) leave(c *client, sub *subscription) {
	ch := sub.channel
	ctx := context.Background()
	defer s.unlockChannel(s.lockChannel(ch))
	if s.stopping.Load() {
		// Shutdown: every connection is leaving, and closing the broker
		// removes this node's subscribers and members in one step (for a
		// shared back end, announcing the members' departure), so no
		// remote call per subscription holds Shutdown up.
		s.hub.Remove(ch, c)
		return
	}
	if _, last := s.hub.Remove(ch, c); last {
		if err := s.broker.Unsubscribe(ctx, ch); err != nil {
			s.logger.Warn("websocket: broker unsubscribe failed", "channel", ch, "err", err)
		}
	}
	if s.registry != nil {
		if err := s.registry.RemoveClient(ctx, ch, c.id); err != nil {
			s.logger.Warn("websocket: forget subscriber failed", "channel", ch, "err", err)
		}
	}
	if sub.member == nil {
		return
	}
	last, version, err := s.presence.Leave(ctx, ch, c.id, sub.member.UserID)
	if err != nil {
		s.logger.Warn("websocket: presence leave failed", "channel", ch, "err", err)
		return
	}
	if last {
		data, _ := json.Marshal(struct {
			UserID string `json:"user_id"`
		}{sub.member.UserID})
		e := broker.New(ch, broker.EventMemberRemoved, data)
		e.Version = version
		s.publishInternal(ctx, e)
	}
}

func (s *Server) publishInternal(ctx context.Context, m *broker.Envelope) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.broker.Publish(ctx, m); err != nil {
		s.logger.Warn("websocket: publish failed", "event", m.Event, "channel", m.Channels[0], "err", err)
	}
}

// clientEvent relays a whisper from c to the channel's other subscribers.
func (s *Server) clientEvent(c *client, event, ch string, data json.RawMessage) {
	switch {
	case s.cfg.DisableClientEvents:
		c.sendError(protoErr(CodeClientEvent, nil, "client events are disabled"), ch)
		return
	case len(event) > broadcast.MaxEventLength:
		c.sendError(protoErr(CodeClientEvent, nil, "client event name too long"), ch)
		return
	case broadcast.KindOf(ch) == broadcast.KindPublic:
		c.sendError(protoErr(CodeClientEvent, nil, "client events need a private or presence channel"), ch)
		return
	case len(data) > s.cfg.MaxClientEventSize:
		c.sendError(protoErr(CodeClientEvent, nil, "client event over %d bytes", s.cfg.MaxClientEventSize), ch)
		return
	}
	sub, ok := c.subs[ch]
	if !ok {
		c.sendError(protoErr(CodeNotSubscribed, nil, "not subscribed to %s", protocol.Truncate(ch)), ch)
		return
	}
	if !c.limits.allow(s.cfg.ClientEventRate, time.Now()) {
		c.sendError(protoErr(CodeRateLimited, nil, "client event rate limit exceeded (%d/s)", s.cfg.ClientEventRate), ch)
		return
	}
	m := broker.New(ch, event, data)
	m.Except = c.id
	if sub.member != nil {
		m.UserID = sub.member.UserID
	}
	s.stats.clientEvents.Add(1)
	s.publishInternal(context.Background(), m)
}

// clientEventLimiter is a token bucket of rate tokens per second and a
// burst of rate; it belongs to one connection's read goroutine.
type clientEventLimiter struct {
	tokens float64
	last   time.Time
}

func (l *clientEventLimiter) allow(rate int, now time.Time) bool {
	if rate < 0 {
		return true
	}
	if l.last.IsZero() {
		l.tokens, l.last = float64(rate), now
	}
	l.tokens += now.Sub(l.last).Seconds() * float64(rate)
	if l.tokens > float64(rate) {
		l.tokens = float64(rate)
	}
	l.last = now
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}
