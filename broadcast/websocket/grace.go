package websocket

import (
	"context"
	"sync"
	"time"

	"github.com/velocitykode/velocity/broadcast/broker"
)

// Presence grace (Config.PresenceGracePeriod).
//
// A presence leave of a user's last connection asks the store to hold
// the departure until a deadline (broker.GracefulPresence.LeaveGrace)
// instead of removing the member, and announces nothing. The node then
// arms a timer for the deadline; when it fires, the channel's executor
// asks the store to carry the departure out (ExpireGrace), which
// succeeds only if nobody joined again meanwhile and nobody carried it
// out already, and publishes the member_removed if it did. A join of the
// user, on this node or another sharing the store, cancels the held
// departure in the store itself: its Join reports first false, so no
// member_added goes out, and the expiry that follows changes nothing.
//
// Expiries run on the channel's executor like joins and leaves, so this
// node's member events keep the order of its presence changes. A timer
// never holds anything while it waits: it is a time.AfterFunc (or the
// Clock's), and its goroutine exists only to queue the expiry. The
// timers are stopped when the server's context ends (Shutdown); a shared
// store's other nodes carry out the departures a stopped or dead node
// held (see redisbroker).

// graceTimers are the node's timers of held departures, one per channel
// and user: a newer departure of the same user replaces the older one's
// timer.
type graceTimers struct {
	mu      sync.Mutex
	timers  map[graceKey]Timer
	stopped bool
	watch   sync.Once
}

type graceKey struct{ channel, userID string }

// leavePresenceGrace returns the executor step of a presence leave that
// holds the user's departure, or nil when grace is off or the store
// cannot hold departures.
func (s *Server) leavePresenceGrace(ch, socketID, userID string) func() {
	gp, ok := s.presence.(broker.GracefulPresence)
	period := s.cfg.PresenceGracePeriod
	if !ok || period <= 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(s.ctx, remoteTimeout)
	return func() {
		defer cancel()
		until := s.clock.Now().Add(period)
		held, err := gp.LeaveGrace(ctx, ch, socketID, userID, until)
		if err != nil {
			s.logger.Warn("websocket: presence leave failed", "channel", ch, "err", err)
			return
		}
		if held {
			s.armDeparture(gp, graceKey{ch, userID}, period, until)
		}
	}
}

// armDeparture starts the timer that carries out k's departure held
// until until, replacing the timer of an earlier one.
func (s *Server) armDeparture(gp broker.GracefulPresence, k graceKey, period time.Duration, until time.Time) {
	g := &s.grace
	g.watch.Do(func() { context.AfterFunc(s.ctx, g.stopAll) })
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return
	}
	if g.timers == nil {
		g.timers = make(map[graceKey]Timer)
	}
	if old := g.timers[k]; old != nil {
		old.Stop() // its departure was cancelled: its expiry would change nothing
	}
	var t Timer
	t = s.clock.AfterFunc(period, func() {
		g.mu.Lock()
		if g.timers[k] == t {
			delete(g.timers, k)
		}
		stopped := g.stopped
		g.mu.Unlock()
		if !stopped {
			s.enqueue(k.channel, s.expireDeparture(gp, k, until), false)
		}
	})
	g.timers[k] = t
}

// stopAll stops every timer; the server's context ended.
func (g *graceTimers) stopAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped = true
	for k, t := range g.timers {
		t.Stop()
		delete(g.timers, k)
	}
}

// heldDepartures returns how many departures wait for this node's timers.
func (s *Server) heldDepartures() int {
	s.grace.mu.Lock()
	defer s.grace.mu.Unlock()
	return len(s.grace.timers)
}

// expireDeparture returns the executor step that carries out k's
// departure held until until and announces it.
func (s *Server) expireDeparture(gp broker.GracefulPresence, k graceKey, until time.Time) func() {
	ctx, cancel := context.WithTimeout(s.ctx, remoteTimeout)
	return func() {
		defer cancel()
		removed, version, err := gp.ExpireGrace(ctx, k.channel, k.userID, until)
		if err != nil {
			// A shared store's sweep carries it out later (redisbroker).
			s.logger.Warn("websocket: presence expiry failed", "channel", k.channel, "err", err)
			return
		}
		if !removed {
			return
		}
		s.announceRemoved(ctx, k.channel, k.userID, version)
	}
}
