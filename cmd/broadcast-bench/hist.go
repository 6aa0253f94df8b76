//go:build linux

package main

import (
	"math"
	"math/bits"
	"sync/atomic"
)

// Histogram counts non-negative values (microseconds here) in log-linear
// buckets, HDR style: values below 128 are exact, larger ones fall in one
// of 64 buckets per power of two (relative error below 1.6%). Record is
// safe for concurrent use; reading while recording gives a near snapshot.
type Histogram struct {
	counts [histBuckets]atomic.Uint64
	n      atomic.Uint64
	max    atomic.Uint64
	sum    atomic.Uint64
}

const (
	histSubBits = 7
	histSub     = 1 << histSubBits // exact range and bucket-group width
	histHalf    = histSub / 2
	histExps    = 50
	histBuckets = histSub + histExps*histHalf
)

func bucketOf(v uint64) int {
	if v < histSub {
		return int(v)
	}
	e := bits.Len64(v) - histSubBits // ≥ 1
	if e > histExps {
		return histBuckets - 1
	}
	m := v >> uint(e) // in [64, 128)
	return histSub + (e-1)*histHalf + int(m-histHalf)
}

// bucketHigh is the largest value that falls in bucket b.
func bucketHigh(b int) uint64 {
	if b < histSub {
		return uint64(b)
	}
	e := (b-histSub)/histHalf + 1
	m := uint64((b-histSub)%histHalf + histHalf)
	return (m+1)<<uint(e) - 1
}

// Record adds one value.
func (h *Histogram) Record(v uint64) {
	h.counts[bucketOf(v)].Add(1)
	h.n.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Count returns the number of values recorded.
func (h *Histogram) Count() uint64 { return h.n.Load() }

// Max returns the largest value recorded (exact).
func (h *Histogram) Max() uint64 { return h.max.Load() }

// Mean returns the average value, or 0 when empty.
func (h *Histogram) Mean() float64 {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	return float64(h.sum.Load()) / float64(n)
}

// Quantile returns the value at or below which a fraction q of the values
// fall: the highest value of the bucket holding the ceil(q·n)-th value,
// capped by Max. It returns 0 when empty.
func (h *Histogram) Quantile(q float64) uint64 {
	var total uint64
	for i := range h.counts {
		total += h.counts[i].Load()
	}
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return min(bucketHigh(i), h.Max())
		}
	}
	return h.Max()
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	for i := range o.counts {
		if c := o.counts[i].Load(); c > 0 {
			h.counts[i].Add(c)
		}
	}
	h.n.Add(o.n.Load())
	h.sum.Add(o.sum.Load())
	if m := o.max.Load(); m > h.max.Load() {
		h.max.Store(m)
	}
}
