package webhook

import (
	"log/slog"
	"sync"
	"time"
)

// reporter rate-limits an endpoint's log lines: at most one drop report
// and one failure report per interval, each summing up what happened
// since the previous one, so a dead receiver cannot flood the log.
type reporter struct {
	log   *slog.Logger
	attrs []any
	every time.Duration

	mu         sync.Mutex
	dropNext   time.Time
	dropped    map[string]int64 // by reason, since the last report
	failNext   time.Time
	failHidden int64 // failures not reported since the last report
}

func newReporter(log *slog.Logger, every time.Duration, attrs ...any) *reporter {
	return &reporter{log: log, every: every, attrs: attrs, dropped: map[string]int64{}}
}

// drop records n events dropped for reason and logs the sum when the
// interval has passed.
func (r *reporter) drop(reason string, n int) {
	if n <= 0 {
		return
	}
	now := time.Now()
	r.mu.Lock()
	r.dropped[reason] += int64(n)
	if now.Before(r.dropNext) {
		r.mu.Unlock()
		return
	}
	r.dropNext = now.Add(r.every)
	sums := r.takeDrops()
	r.mu.Unlock()
	r.logDrops(sums)
}

func (r *reporter) takeDrops() map[string]int64 {
	if len(r.dropped) == 0 {
		return nil
	}
	sums := r.dropped
	r.dropped = map[string]int64{}
	return sums
}

func (r *reporter) logDrops(sums map[string]int64) {
	for reason, n := range sums {
		r.log.Warn("webhook: events dropped", append([]any{"reason", reason, "count", n}, r.attrs...)...)
	}
}

// fail records a failure (a failed attempt, an invalid event) and logs
// it, with attrs, when the interval has passed.
func (r *reporter) fail(msg string, err error, attrs ...any) {
	now := time.Now()
	r.mu.Lock()
	if now.Before(r.failNext) {
		r.failHidden++
		r.mu.Unlock()
		return
	}
	r.failNext = now.Add(r.every)
	hidden := r.failHidden
	r.failHidden = 0
	r.mu.Unlock()
	attrs = append(attrs, "error", err, "unreported_failures", hidden)
	r.log.Warn(msg, append(attrs, r.attrs...)...)
}

// flush logs the drops not yet reported.
func (r *reporter) flush() {
	r.mu.Lock()
	sums := r.takeDrops()
	r.mu.Unlock()
	r.logDrops(sums)
}
