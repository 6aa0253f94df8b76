// Package logflood keeps a flood of log records from filling the disk: a
// slog.Handler that passes at most a burst of records with the same
// message and level per interval, and reports how many it held back.
package logflood

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Defaults of Wrap: per message and level, 20 records per 10 seconds.
const (
	DefaultBurst    = 20
	DefaultInterval = 10 * time.Second
	// maxKeys bounds the messages tracked; past it the oldest interval's
	// counts are forgotten early.
	maxKeys = 4096
)

// Handler passes records to the next handler within the limit. Its
// methods are safe for concurrent use.
type Handler struct {
	next  slog.Handler
	state *state
}

type key struct {
	level slog.Level
	msg   string
}

type window struct {
	start      time.Time
	n          int
	suppressed int
}

type state struct {
	burst    int
	interval time.Duration
	now      func() time.Time
	mu       sync.Mutex
	windows  map[key]*window
}

// Wrap returns h limited to DefaultBurst records of one message and level
// per DefaultInterval; a handler Wrap returned is returned as it is.
func Wrap(h slog.Handler) slog.Handler {
	if _, ok := h.(*Handler); ok {
		return h
	}
	return New(h, DefaultBurst, DefaultInterval, time.Now)
}

// Logger returns l with its handler wrapped (slog.Default() when nil).
func Logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		l = slog.Default()
	}
	if _, ok := l.Handler().(*Handler); ok {
		return l
	}
	return slog.New(Wrap(l.Handler()))
}

// New returns h limited to burst records of one message and level per
// interval, with the clock now.
func New(h slog.Handler, burst int, interval time.Duration, now func() time.Time) *Handler {
	return &Handler{next: h, state: &state{burst: burst, interval: interval, now: now, windows: make(map[key]*window)}}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle implements slog.Handler: a record over the limit is dropped and
// counted; the first record passed in a later interval carries the count
// held back in the interval before as "suppressed".
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	pass, suppressed := h.state.admit(key{r.Level, r.Message})
	if !pass {
		return nil
	}
	if suppressed > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("suppressed", suppressed))
	}
	return h.next.Handle(ctx, r)
}

func (s *state) admit(k key) (bool, int) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.windows[k]
	if w == nil {
		if len(s.windows) >= maxKeys {
			s.forgetOld(now)
		}
		w = &window{start: now}
		s.windows[k] = w
	}
	suppressed := 0
	if now.Sub(w.start) >= s.interval {
		suppressed = w.suppressed
		*w = window{start: now}
	}
	if w.n >= s.burst {
		w.suppressed++
		return false, 0
	}
	w.n++
	return true, suppressed
}

// forgetOld drops the windows that ended, or all of them when none has:
// a flood of distinct messages then passes at most burst each per
// interval still, with its suppressed counts lost.
func (s *state) forgetOld(now time.Time) {
	for k, w := range s.windows {
		if now.Sub(w.start) >= s.interval {
			delete(s.windows, k)
		}
	}
	if len(s.windows) >= maxKeys {
		clear(s.windows)
	}
}

// WithAttrs implements slog.Handler; the limit is shared.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{next: h.next.WithAttrs(attrs), state: h.state}
}

// WithGroup implements slog.Handler; the limit is shared.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), state: h.state}
}
