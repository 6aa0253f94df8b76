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
	member  *broadcast.Member  // presence channels only
	since   *protocol.Position // the subscribe's recovery position, if any
	// overRate: the since came over RecoveryRate and is answered
	// recovered:false without a replay.
	overRate bool
}

// remoteTimeout bounds each remote step of a join or a leave (broker
// subscription, presence change, member event), counted from when the
// step was asked for; the broker's own timeout may end it sooner.
const remoteTimeout = 5 * time.Second

// subscribe handles a subscribe frame: validate, authorize (outside any
// lock), then join. It runs on whichever goroutine handles c's frames.
func (s *Server) subscribe(c *client, req protocol.Command) {
	ch := req.Channel
	fail := func(e *ProtocolError) {
		s.debugClient(c, "websocket: subscription refused", e, ch)
		c.SendControl(c.proto.SubscriptionError(ch, e))
	}
	if err := broadcast.ValidateChannel(ch); err != nil {
		fail(protoErr(CodeInvalidChannel, err, "invalid channel name"))
		return
	}
	if sub, ok := c.subs[ch]; ok {
		s.answerAgain(c, sub)
		return
	}
	if max := s.cfg.MaxSubscriptions; len(c.subs) >= max {
		fail(protoErr(CodeTooManyChannels, nil, "a connection may subscribe to %d channels at most", max))
		return
	}
	sub := &subscription{channel: ch, since: req.Since}
	if sub.since != nil && !c.recoverLimit.allow(RecoveryRate, s.clock.Now()) {
		sub.overRate = true
	}
	if broadcast.RequiresAuth(ch) {
		member, perr := s.authorizeSubscription(c.ctx, c, req)
		s.metrics.countAuth(perr)
		if perr != nil {
			fail(perr)
			return
		}
		if member != nil && len(member.UserInfo) > s.cfg.MaxUserInfoBytes {
			fail(protoErr(CodeMemberTooLarge, nil, "presence user_info is %d bytes, over the limit of %d", len(member.UserInfo), s.cfg.MaxUserInfoBytes))
			return
		}
		if member != nil {
			if perr := s.countUser(c, member.UserID); perr != nil {
				fail(perr)
				return
			}
		}
		sub.member = member
	}
	s.join(c, sub, fail)
}

// answerAgain answers a subscribe to a channel c is already subscribed
// to with the channel's success frame again, changing nothing: events are
// not delivered twice. A presence channel's frame lists the members from
// the store (just c's own member if the store does not answer).
func (s *Server) answerAgain(c *client, sub *subscription) {
	if sub.member == nil {
		c.SendControl(c.proto.Subscribed(sub.channel, nil))
		return
	}
	c.goRemote(func() {
		ctx, cancel := context.WithTimeout(c.ctx, remoteTimeout)
		defer cancel()
		members, err := s.presence.Members(ctx, sub.channel)
		if err != nil {
			members = []broadcast.Member{*sub.member}
		}
		c.SendControl(c.proto.Subscribed(sub.channel, members))
	})
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

// join adds c to sub's channel and records sub in c.subs, or answers
// with fail. When the node already listens to a non-presence channel it
// is local and done at once. Otherwise the remote part runs on the
// channel's executor while c's later frames wait (goRemote), so answers
// keep the order of the requests and c's read loop goes on reading.
//
// The success frame is queued in the same step that puts c in the hub, so
// no event of the channel precedes it and none published after it is
// missed.
func (s *Server) join(c *client, sub *subscription, fail func(*ProtocolError)) {
	ch := sub.channel
	frame := func() []byte { return c.subscribedFrame(sub) }
	remote := sub.member != nil || s.retention(ch) != nil
	if s.beginJoin(c, ch, remote, frame) {
		c.subs[ch] = sub
		s.addClient(c, sub)
		return
	}
	c.goRemote(func() {
		ctx, cancel := context.WithTimeout(c.ctx, remoteTimeout)
		defer cancel()
		done := make(chan *ProtocolError, 1)
		queued := false
		if s.batched(ch, sub) {
			queued = s.enqueueBatched(ch, &pendingJoin{ctx: ctx, c: c, sub: sub, done: done})
		} else {
			queued = s.enqueue(ch, func() { done <- s.joinRemote(ctx, c, sub) }, true)
		}
		if !queued {
			done <- protoErr(CodeInternal, nil, "too many subscriptions to %s waiting, retry later", protocol.Truncate(ch))
		}
		// The step always ends: it gives up on its deadline, which is at or
		// after those of the steps queued before it.
		if perr := <-done; perr != nil {
			s.unref(ch, true)
			fail(perr)
			return
		}
		c.subs[ch] = sub
	})
}

// joinRemote is the remote part of a join, on the channel's executor:
// subscribe the node if it is not, join presence, enter the hub, announce
// the new member.
func (s *Server) joinRemote(ctx context.Context, c *client, sub *subscription) *ProtocolError {
	ch := sub.channel
	if err := ctx.Err(); err != nil {
		return protoErr(CodeInternal, err, "subscription unavailable, retry later")
	}
	if subscribed, _ := s.nodeState(ch); !subscribed {
		if err := s.broker.Subscribe(ctx, ch); err != nil {
			s.logger.Error("websocket: broker subscribe failed", "channel", ch, "err", err)
			return protoErr(CodeInternal, err, "subscription unavailable, retry later")
		}
		s.setSubscribed(ch, true)
	}
	ret := s.retention(ch)
	if sub.member == nil && ret == nil {
		s.hub.AddAndSend(ch, c, c.subscribedFrame(sub), 0)
		s.addClient(c, sub)
		return nil
	}
	s.openWindow(ch)
	var rec recovery
	if ret != nil {
		var perr *ProtocolError
		if rec, perr = s.recover(ctx, c, sub, *ret); perr != nil {
			s.closeWindow(ch)
			return perr
		}
	}
	var first bool
	var members []broadcast.Member
	var version uint64
	if sub.member != nil {
		var err error
		first, members, version, err = s.joinPresence(ctx, ch, c.id, *sub.member)
		if err != nil {
			s.closeWindow(ch)
			if errors.Is(err, broker.ErrPresenceFull) {
				return protoErr(CodePresenceFull, err, "presence channel %s is full", protocol.Truncate(ch))
			}
			s.logger.Error("websocket: presence join failed", "channel", ch, "err", err)
			return protoErr(CodeInternal, err, "presence unavailable, retry later")
		}
	}
	// c skips member events its list already reflects (those of changes
	// at or before version, which may still be on their way to this node)
	// and the publications its recovery covers.
	frames := append([][]byte{c.proto.SubscribedStream(ch, members, rec.stream)}, rec.frames...)
	s.hub.AddAndSendFrom(ch, c, frames, version, rec.pos)
	if ret != nil {
		s.notePosition(ch, rec.pos)
	}
	s.closeWindow(ch)
	s.addClient(c, sub)
	if first {
		s.notifyMember(broadcast.MemberAdded, ch, *sub.member)
		data, _ := json.Marshal(sub.member)
		e := broker.New(ch, broker.EventMemberAdded, data)
		e.Except, e.Version = c.id, version
		s.publishInternal(ctx, e)
	}
	return nil
}

// joinPresence joins the presence store, within MaxPresenceMembers when
// the store can enforce it.
func (s *Server) joinPresence(ctx context.Context, ch, socketID string, m broadcast.Member) (bool, []broadcast.Member, uint64, error) {
	if lim, ok := s.presence.(broker.PresenceLimiter); ok && s.cfg.MaxPresenceMembers > 0 {
		return lim.JoinLimited(ctx, ch, socketID, m, s.cfg.MaxPresenceMembers)
	}
	return s.presence.Join(ctx, ch, socketID, m)
}

// unsubscribeIfIdle returns the executor step that unsubscribes the node
// from channel unless a join came meanwhile.
func (s *Server) unsubscribeIfIdle(ch string) func() {
	ctx, cancel := context.WithTimeout(s.ctx, remoteTimeout)
	return func() {
		defer cancel()
		subscribed, refs := s.nodeState(ch)
		if !subscribed || refs > 0 {
			return
		}
		// The broker forgets the subscription even when the call fails.
		s.setSubscribed(ch, false)
		if err := s.broker.Unsubscribe(ctx, ch); err != nil {
			s.logger.Warn("websocket: broker unsubscribe failed", "channel", ch, "err", err)
		}
	}
}

// addClient and removeClient keep the cluster's client registry; the
// registry writes behind, so neither waits for the back end.
func (s *Server) addClient(c *client, sub *subscription) {
	ch := sub.channel
	s.markCount(ch)
	s.notifySub(broadcast.Subscribed, c, sub)
	if s.registry == nil {
		return
	}
	if err := s.registry.AddClient(s.ctx, ch, c.id); err != nil {
		s.logger.Warn("websocket: record subscriber failed", "channel", ch, "err", err)
	}
}

func (s *Server) removeClient(c *client, sub *subscription) {
	ch := sub.channel
	s.markCount(ch)
	s.notifySub(broadcast.Unsubscribed, c, sub)
	if s.registry == nil {
		return
	}
	if err := s.registry.RemoveClient(s.ctx, ch, c.id); err != nil {
		s.logger.Warn("websocket: forget subscriber failed", "channel", ch, "err", err)
	}
}

// unsubscribe handles an unsubscribe frame.
func (s *Server) unsubscribe(c *client, ch string) {
	sub, ok := c.subs[ch]
	if !ok {
		c.sendError(protoErr(CodeNotSubscribed, nil, "not subscribed to %s", protocol.Truncate(ch)), "")
		return
	}
	delete(c.subs, ch)
	s.leave(c, sub)
}

// leaveAll removes c from every channel once its frames are handled.
func (s *Server) leaveAll(c *client) {
	for ch, sub := range c.subs {
		delete(c.subs, ch)
		s.leave(c, sub)
	}
}

// leave takes c out of the hub at once; the presence change, its
// member_removed and a last-leave unsubscribe run on the channel's
// executor, so the caller never waits for them.
func (s *Server) leave(c *client, sub *subscription) {
	ch := sub.channel
	s.hub.Remove(ch, c)
	c.ForgetKeys(ch)
	if s.stopping.Load() {
		// Shutdown: every connection is leaving, and closing the broker
		// removes this node's subscribers and members in one step (for a
		// shared back end, announcing the members' departure), so no
		// remote call per subscription holds Shutdown up.
		s.unref(ch, false)
		return
	}
	s.removeClient(c, sub)
	if sub.member != nil {
		s.enqueue(ch, s.leavePresence(ch, c.id, sub.member.UserID), false)
	}
	s.unref(ch, true)
}

// leavePresence returns the executor step of a presence leave.
func (s *Server) leavePresence(ch, socketID, userID string) func() {
	if step := s.leavePresenceGrace(ch, socketID, userID); step != nil {
		return step // grace.go
	}
	ctx, cancel := context.WithTimeout(s.ctx, remoteTimeout)
	return func() {
		defer cancel()
		last, version, err := s.presence.Leave(ctx, ch, socketID, userID)
		if err != nil {
			s.logger.Warn("websocket: presence leave failed", "channel", ch, "err", err)
			return
		}
		if last {
			s.announceRemoved(ctx, ch, userID, version)
		}
	}
}

// announceRemoved reports and publishes that userID left the presence
// channel ch, at presence version.
func (s *Server) announceRemoved(ctx context.Context, ch, userID string, version uint64) {
	s.notifyMember(broadcast.MemberRemoved, ch, broadcast.Member{UserID: userID})
	s.publishInternal(ctx, broker.NewMemberRemoved(ch, userID, version))
}

// publishInternal publishes one of the server's own events (member
// events, whispers) within remoteTimeout; a failure is logged.
func (s *Server) publishInternal(ctx context.Context, m *broker.Envelope) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), remoteTimeout)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()
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
	case broadcast.IsEncrypted(ch):
		c.sendError(protoErr(CodeClientEvent, nil, "client events are not supported on encrypted channels"), ch)
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
		s.metrics.limitedClientEvents.Add(1)
		c.sendError(protoErr(CodeRateLimited, nil, "client event rate limit exceeded (%d/s)", s.cfg.ClientEventRate), ch)
		return
	}
	m := broker.New(ch, event, data)
	m.Except = c.id
	if sub.member != nil {
		m.UserID = sub.member.UserID
	}
	s.stats.clientEvents.Add(1)
	s.publishInternal(s.ctx, m)
	if s.wants(broadcast.ClientEvent) {
		s.notify(broadcast.LifecycleEvent{Kind: broadcast.ClientEvent, SocketID: c.id, Channel: ch, UserID: m.UserID, Event: event, Data: data})
	}
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
