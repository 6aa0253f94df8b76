package websocket

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
)

// Subscription counts (Config.SubscriptionCount).
//
// A join or a leave on a non-presence channel marks the channel; every
// SubscriptionCountInterval the node reads the cluster-wide count of each
// marked channel (SubscriptionCount) and, when it differs from what it
// last sent, publishes it to the channel's subscribers on every node
// (broker.EventSubscriptionCount). A marked channel is read once more one
// interval later, so that when several nodes changed it at once, they all
// end on the settled count. The ticking goroutine runs only while
// channels are marked.
type subCounts struct {
	mu      sync.Mutex
	marked  map[string]int // channel → reads left
	sent    map[string]int // channel → last count published by this node
	running bool
	timer   Timer // the next tick while running
}

// DefaultSubscriptionCountInterval is how often changed subscription
// counts are sent, at most.
const DefaultSubscriptionCountInterval = time.Second

// markCount notes a change of channel's subscribers.
func (s *Server) markCount(channel string) {
	if !s.cfg.SubscriptionCount || broadcast.KindOf(channel) == broadcast.KindPresence || isUserChannel(channel) {
		return
	}
	sc := &s.subCounts
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.marked == nil {
		sc.marked, sc.sent = make(map[string]int), make(map[string]int)
	}
	sc.marked[channel] = 2
	if !sc.running && !s.stopping.Load() {
		sc.running = true
		s.bg.add()
		sc.timer = s.clock.AfterFunc(s.cfg.SubscriptionCountInterval, s.sendCounts)
	}
}

// stopCounts cancels the next tick (Shutdown).
func (s *Server) stopCounts() {
	sc := &s.subCounts
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.running && sc.timer.Stop() {
		sc.running = false
		s.bg.done()
	}
}

// sendCounts is one tick: it publishes the changed counts and schedules
// the next tick while channels are marked.
func (s *Server) sendCounts() {
	defer s.bg.done()
	sc := &s.subCounts
	sc.mu.Lock()
	chans := make([]string, 0, len(sc.marked))
	for ch, left := range sc.marked {
		chans = append(chans, ch)
		if left <= 1 {
			delete(sc.marked, ch)
		} else {
			sc.marked[ch] = left - 1
		}
	}
	sc.mu.Unlock()
	for _, ch := range chans {
		if s.ctx.Err() != nil {
			break
		}
		ctx, cancel := context.WithTimeout(s.ctx, remoteTimeout)
		n, err := s.SubscriptionCount(ctx, ch)
		cancel()
		sc.mu.Lock()
		prev, seen := sc.sent[ch]
		changed := err == nil && (!seen || prev != n)
		if changed {
			sc.sent[ch] = n
		}
		if n == 0 {
			delete(sc.sent, ch)
		}
		sc.mu.Unlock()
		if changed {
			data := []byte(`{"subscription_count":` + strconv.Itoa(n) + `}`)
			s.publishInternal(s.ctx, broker.New(ch, broker.EventSubscriptionCount, data))
			if s.wants(broadcast.SubscriptionCount) {
				s.notify(broadcast.LifecycleEvent{Kind: broadcast.SubscriptionCount, Channel: ch, Count: n})
			}
		}
	}
	sc.mu.Lock()
	more := len(sc.marked) > 0 && s.ctx.Err() == nil && !s.stopping.Load()
	sc.running = more
	if more {
		s.bg.add()
		sc.timer = s.clock.AfterFunc(s.cfg.SubscriptionCountInterval, s.sendCounts)
	}
	sc.mu.Unlock()
}
