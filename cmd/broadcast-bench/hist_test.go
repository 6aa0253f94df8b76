//go:build linux

package main

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestHistogramExactBelow128(t *testing.T) {
	var h Histogram
	for v := uint64(1); v <= 100; v++ {
		h.Record(v)
	}
	for _, c := range []struct {
		q    float64
		want uint64
	}{{0.5, 50}, {0.99, 99}, {0.999, 100}, {1, 100}, {0, 1}} {
		if got := h.Quantile(c.q); got != c.want {
			t.Errorf("Quantile(%v) = %d, want %d", c.q, got, c.want)
		}
	}
	if h.Max() != 100 || h.Count() != 100 || h.Mean() != 50.5 {
		t.Errorf("max %d count %d mean %v", h.Max(), h.Count(), h.Mean())
	}
}

func TestHistogramMatchesSortedSample(t *testing.T) {
	var h Histogram
	rng := rand.New(rand.NewPCG(1, 2))
	vals := make([]uint64, 50000)
	for i := range vals {
		vals[i] = uint64(rng.ExpFloat64() * 5000) // a long tail, in µs
		h.Record(vals[i])
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := vals[int(q*float64(len(vals)))-1]
		got := h.Quantile(q)
		if got < exact || float64(got) > float64(exact)*1.016+1 {
			t.Errorf("q%v: histogram %d, exact %d (want within +1.6%%)", q, got, exact)
		}
	}
	if h.Quantile(1) != vals[len(vals)-1] {
		t.Errorf("q1 = %d, want exact max %d", h.Quantile(1), vals[len(vals)-1])
	}
}

func TestHistogramBucketsCoverRange(t *testing.T) {
	prev := -1
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 1 << 20, 1<<40 + 12345, 1 << 62} {
		b := bucketOf(v)
		if b < prev || b >= histBuckets {
			t.Fatalf("bucketOf(%d) = %d (prev %d)", v, b, prev)
		}
		if v < 1<<56 && bucketHigh(b) < v {
			t.Errorf("bucketHigh(%d) = %d < %d", b, bucketHigh(b), v)
		}
		prev = b
	}
}

func TestHistogramMergeAndEmpty(t *testing.T) {
	var a, b Histogram
	if a.Quantile(0.99) != 0 || a.Mean() != 0 {
		t.Fatal("empty histogram should report 0")
	}
	a.Record(10)
	b.Record(1000)
	a.Merge(&b)
	if a.Count() != 2 || a.Max() != 1000 || a.Quantile(0.5) != 10 {
		t.Errorf("merged: count %d max %d p50 %d", a.Count(), a.Max(), a.Quantile(0.5))
	}
}
