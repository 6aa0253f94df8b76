package websocket

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
)

// Channel history: which channels keep one, publishing to them, and the
// History read of the Go API. The wire side (since, history frames) is in
// recovery.go; node-level gap filling in sequence.go.

// historyRules is an immutable rule list, swapped whole by AddHistory.
type historyRules struct {
	rules []broadcast.HistoryRule
}

// historyState is the server's history configuration.
type historyState struct {
	mu    sync.Mutex // serializes AddHistory
	rules atomic.Pointer[historyRules]
}

var (
	_ broadcast.HistoryReader     = (*Server)(nil)
	_ broadcast.HistoryConfigurer = (*Server)(nil)
)

// AddHistory implements broadcast.HistoryConfigurer: rules are added after
// the existing ones (the first that matches a channel decides it). It
// fails when a rule is invalid or the broker keeps no history.
func (s *Server) AddHistory(rules ...broadcast.HistoryRule) error {
	if len(rules) == 0 {
		return nil
	}
	if s.historian == nil {
		return fmt.Errorf("%w: the broker (%T) keeps no channel history", ErrConfig, s.broker)
	}
	for _, r := range rules {
		if err := r.Validate(); err != nil {
			return err
		}
	}
	s.history.mu.Lock()
	defer s.history.mu.Unlock()
	var next historyRules
	if cur := s.history.rules.Load(); cur != nil {
		next.rules = append(next.rules, cur.rules...)
	}
	next.rules = append(next.rules, rules...)
	if len(next.rules) > broadcast.MaxHistoryRules {
		return fmt.Errorf("%w: %d rules, at most %d", broadcast.ErrInvalidHistory, len(next.rules), broadcast.MaxHistoryRules)
	}
	s.history.rules.Store(&next)
	return nil
}

// cacheRetention is what a cache channel keeps without a history rule.
var cacheRetention = broker.Retention{Size: 1, TTL: broadcast.DefaultCacheTTL}

// retention returns what channel keeps, or nil when it has no history: a
// history rule's, else a cache channel's last event. A channel without
// either costs one atomic load and a scan of its name.
func (s *Server) retention(channel string) *broker.Retention {
	if hr := s.history.rules.Load(); hr != nil {
		for i := range hr.rules {
			if r := &hr.rules[i]; r.Match(channel) {
				return &broker.Retention{Size: r.Size, TTL: r.TTL}
			}
		}
	}
	if broadcast.IsCache(channel) && s.historian != nil {
		r := cacheRetention
		return &r
	}
	return nil
}

// History implements broadcast.HistoryReader.
func (s *Server) History(ctx context.Context, channel string, limit int) (broadcast.HistoryResult, error) {
	ret := s.retention(channel)
	if ret == nil {
		return broadcast.HistoryResult{}, fmt.Errorf("%w: %s", broadcast.ErrNoHistory, channel)
	}
	res, err := s.readHistory(ctx, channel, broker.HistoryQuery{Retention: *ret, Limit: limit})
	if err != nil {
		return broadcast.HistoryResult{}, err
	}
	out := broadcast.HistoryResult{
		Position:     broadcast.StreamPosition{Offset: res.Position.Offset, Epoch: res.Position.Epoch},
		Publications: make([]broadcast.Publication, len(res.Publications)),
	}
	for i, p := range res.Publications {
		out.Publications[i] = broadcast.Publication{Offset: p.Position.Offset, Event: p.Event, Data: p.Data}
	}
	return out, nil
}

// readHistory reads a channel's stream within remoteTimeout.
func (s *Server) readHistory(ctx context.Context, channel string, q broker.HistoryQuery) (broker.HistoryResult, error) {
	if s.historian == nil {
		return broker.HistoryResult{}, broker.ErrNoHistoryStore
	}
	ctx, cancel := context.WithTimeout(ctx, remoteTimeout)
	defer cancel()
	return s.historian.History(ctx, channel, q)
}

// publishApp publishes an application message. Each of its channels
// with history gets an envelope of its own (every one has its own
// offsets); the others share one.
func (s *Server) publishApp(ctx context.Context, e *broker.Envelope) error {
	if s.history.rules.Load() == nil && !anyCache(e.Channels) {
		return s.publish(ctx, e)
	}
	var plain []string
	var first error
	for _, ch := range e.Channels {
		ret := s.retention(ch)
		if ret == nil {
			plain = append(plain, ch)
			continue
		}
		one := *e
		one.Channels = []string{ch}
		one.Retention = ret
		if err := s.publish(ctx, &one); err != nil && first == nil {
			first = err
		}
	}
	if len(plain) == len(e.Channels) {
		return s.publish(ctx, e)
	}
	if len(plain) > 0 {
		rest := *e
		rest.Channels = plain
		if err := s.publish(ctx, &rest); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func anyCache(channels []string) bool {
	for _, ch := range channels {
		if broadcast.IsCache(ch) {
			return true
		}
	}
	return false
}

// CachedEvent returns the event a cache channel holds and how long it
// will keep it; ok is false when it holds none (or channel is not a cache
// channel). The Pusher HTTP API's info=cache reads it.
func (s *Server) CachedEvent(ctx context.Context, channel string) (event string, data json.RawMessage, ttl time.Duration, ok bool, err error) {
	ret := s.retention(channel)
	if ret == nil || !broadcast.IsCache(channel) {
		return "", nil, 0, false, nil
	}
	res, err := s.readHistory(ctx, channel, broker.HistoryQuery{Retention: *ret, Limit: 1})
	if err != nil || len(res.Publications) == 0 {
		return "", nil, 0, false, err
	}
	p := res.Publications[len(res.Publications)-1]
	return p.Event, p.Data, ret.TTL - res.Ages[len(res.Ages)-1], true, nil
}
