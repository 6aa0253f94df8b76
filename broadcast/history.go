package broadcast

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Bounds of channel history.
const (
	// MaxHistorySize is the largest number of publications a channel may
	// retain.
	MaxHistorySize = 10000
	// MaxHistoryTTL is the longest time to live of a channel's history.
	MaxHistoryTTL = 30 * 24 * time.Hour
	// MaxHistoryRules bounds the number of history rules.
	MaxHistoryRules = 256
)

// HistoryRule opts channels in to history: every publication on a
// channel that Pattern matches gets a stream position (StreamPosition)
// and is retained, at most Size of them and each for at most TTL, so that
// subscribers can recover what they missed and History can read them.
//
// Pattern is a channel name, or a name with * wildcards (each matches any
// run of characters, none included): "orders", "chat.*",
// "private-user.*". The first rule that matches a channel decides it.
type HistoryRule struct {
	Pattern string
	Size    int
	TTL     time.Duration
}

// Validate reports a rule outside the bounds.
func (r HistoryRule) Validate() error {
	name := strings.ReplaceAll(r.Pattern, "*", "x")
	switch {
	case r.Pattern == "" || ValidateChannel(name) != nil:
		return fmt.Errorf("%w: pattern %q is not a channel name with * wildcards", ErrInvalidHistory, r.Pattern)
	case r.Size < 1 || r.Size > MaxHistorySize:
		return fmt.Errorf("%w: %q: size %d outside 1..%d", ErrInvalidHistory, r.Pattern, r.Size, MaxHistorySize)
	case r.TTL < time.Second || r.TTL > MaxHistoryTTL:
		return fmt.Errorf("%w: %q: ttl %s outside 1s..%s", ErrInvalidHistory, r.Pattern, r.TTL, MaxHistoryTTL)
	}
	return nil
}

// Match reports whether channel is one of the rule's channels.
func (r HistoryRule) Match(channel string) bool { return globMatch(r.Pattern, channel) }

// globMatch matches name against pattern, where * stands for any run of
// characters. It runs in O(len(pattern)·len(name)) at worst.
func globMatch(pattern, name string) bool {
	star, resume := -1, 0
	p, n := 0, 0
	for n < len(name) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, resume = p, n
			p++
		case p < len(pattern) && pattern[p] == name[n]:
			p++
			n++
		case star >= 0:
			resume++
			p, n = star+1, resume
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// ParseHistoryRules parses the BROADCAST_HISTORY form of history rules: a
// comma-separated list of pattern=size/ttl, as in
// "orders=100/10m,chat.*=50/24h" (ttl in Go's duration syntax).
func ParseHistoryRules(s string) ([]HistoryRule, error) {
	var rules []HistoryRule
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		pattern, spec, ok := strings.Cut(item, "=")
		sizeText, ttlText, ok2 := strings.Cut(spec, "/")
		if !ok || !ok2 {
			return nil, fmt.Errorf("%w: %q is not pattern=size/ttl", ErrInvalidHistory, item)
		}
		size, err := strconv.Atoi(strings.TrimSpace(sizeText))
		if err != nil {
			return nil, fmt.Errorf("%w: %q: size: %v", ErrInvalidHistory, item, err)
		}
		ttl, err := time.ParseDuration(strings.TrimSpace(ttlText))
		if err != nil {
			return nil, fmt.Errorf("%w: %q: ttl: %v", ErrInvalidHistory, item, err)
		}
		r := HistoryRule{Pattern: strings.TrimSpace(pattern), Size: size, TTL: ttl}
		if err := r.Validate(); err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	if len(rules) > MaxHistoryRules {
		return nil, fmt.Errorf("%w: %d rules, at most %d", ErrInvalidHistory, len(rules), MaxHistoryRules)
	}
	return rules, nil
}

// StreamPosition is where a channel's stream of publications stands:
// Offset grows by exactly 1 per publication, cluster-wide; Epoch changes
// whenever the stored history was lost or reset, which makes older
// offsets meaningless.
type StreamPosition struct {
	Offset uint64 `json:"offset"`
	Epoch  string `json:"epoch"`
}

// Publication is one retained event of a channel with history.
type Publication struct {
	Offset uint64          `json:"offset"`
	Event  string          `json:"event"`
	Data   json.RawMessage `json:"data"`
}

// HistoryResult is what History returns: the retained publications, oldest
// first, and the channel's position when they were read.
type HistoryResult struct {
	Position     StreamPosition
	Publications []Publication
}

// HistoryReader is implemented by drivers that keep channel history.
// History returns the last limit retained publications of channel, oldest
// first (limit <= 0: every retained one), with its current position. It
// fails with an error wrapping ErrNoHistory when no history rule matches
// channel.
type HistoryReader interface {
	History(ctx context.Context, channel string, limit int) (HistoryResult, error)
}

// HistoryConfigurer is implemented by drivers that keep channel history
// and take rules from the application (WithHistory).
type HistoryConfigurer interface {
	AddHistory(rules ...HistoryRule) error
}

// WithHistory opts channels in to history on the broadcaster's driver
// (see HistoryRule): WithHistory("chat.*", 100, 24*time.Hour). The rule is
// added after those of the driver's configuration (BROADCAST_HISTORY). A
// driver that keeps no history logs the rule as ignored.
func WithHistory(pattern string, size int, ttl time.Duration) Option {
	return func(b *Broadcaster) {
		b.history = append(b.history, HistoryRule{Pattern: pattern, Size: size, TTL: ttl})
	}
}

// applyHistory hands the broadcaster's history rules to d.
func (b *Broadcaster) applyHistory(d Driver) {
	if len(b.history) == 0 {
		return
	}
	hc, ok := d.(HistoryConfigurer)
	if !ok {
		b.logger.Warn("broadcast: the driver keeps no history; history rules ignored", "driver", fmt.Sprintf("%T", d))
		return
	}
	if err := hc.AddHistory(b.history...); err != nil {
		b.logger.Error("broadcast: history rules refused", "err", err)
	}
}

// History returns the last limit retained publications of channel,
// oldest first (limit <= 0: all of them), with the channel's current
// position; the whole cluster's with the Redis driver. It fails with
// ErrNoHistory when the channel has no history rule or the driver keeps
// no history.
func (b *Broadcaster) History(ctx context.Context, channel string, limit int) (HistoryResult, error) {
	if err := ValidateChannel(channel); err != nil {
		return HistoryResult{}, err
	}
	box := b.driver.Load()
	if box == nil {
		return HistoryResult{}, ErrNotConfigured
	}
	hr, ok := box.d.(HistoryReader)
	if !ok {
		return HistoryResult{}, fmt.Errorf("%w: driver %T", ErrNoHistory, box.d)
	}
	return hr.History(ctx, channel, limit)
}

// History reads a channel's history on the default broadcaster.
func History(ctx context.Context, channel string, limit int) (HistoryResult, error) {
	return Default().History(ctx, channel, limit)
}

// Errors of channel history.
var (
	// ErrNoHistory reports a history read of a channel that keeps none.
	ErrNoHistory = errors.New("broadcast: channel has no history")
	// ErrInvalidHistory reports a history rule outside the bounds.
	ErrInvalidHistory = errors.New("broadcast: invalid history rule")
)
