// Package latency is a lock-free histogram of durations with fixed
// bucket bounds, cheap enough to observe on a hot path: one Observe is a
// few comparisons and two atomic adds, with no allocation and no lock.
package latency

import (
	"sync/atomic"
	"time"
)

// Bounds are the upper bounds (inclusive) of the buckets, in increasing
// order, from 10µs to 10s; a last bucket holds every longer duration.
var Bounds = [...]time.Duration{
	10 * time.Microsecond,
	25 * time.Microsecond,
	50 * time.Microsecond,
	100 * time.Microsecond,
	250 * time.Microsecond,
	500 * time.Microsecond,
	time.Millisecond,
	2500 * time.Microsecond,
	5 * time.Millisecond,
	10 * time.Millisecond,
	25 * time.Millisecond,
	50 * time.Millisecond,
	100 * time.Millisecond,
	250 * time.Millisecond,
	500 * time.Millisecond,
	time.Second,
	2500 * time.Millisecond,
	5 * time.Second,
	10 * time.Second,
}

// Buckets is the number of buckets: one per bound and one above them.
const Buckets = len(Bounds) + 1

// Histogram counts durations per bucket. The zero value is ready; it must
// not be copied after first use.
type Histogram struct {
	counts [Buckets]atomic.Uint64
	sum    atomic.Int64 // nanoseconds
}

// Observe records one duration; a negative one counts as zero.
func (h *Histogram) Observe(d time.Duration) {
	if d < 0 {
		d = 0
	}
	i := 0
	for i < len(Bounds) && d > Bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

// Since records the time elapsed since start.
func (h *Histogram) Since(start time.Time) { h.Observe(time.Since(start)) }

// Load returns the count of each bucket (not cumulative; the last is
// above every bound) and the sum of the durations observed. Taken while
// Observe runs, the sum may include an observation the counts miss, or
// the reverse; the counts themselves never go down.
func (h *Histogram) Load() (counts [Buckets]uint64, sum time.Duration) {
	for i := range h.counts {
		counts[i] = h.counts[i].Load()
	}
	return counts, time.Duration(h.sum.Load())
}
