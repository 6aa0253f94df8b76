package latency

import (
	"sync"
	"testing"
	"time"
)

func TestObservePutsDurationsInTheirBuckets(t *testing.T) {
	t.Parallel()
	var h Histogram
	h.Observe(-time.Second)            // counts as 0: first bucket
	h.Observe(10 * time.Microsecond)   // on the bound: first bucket
	h.Observe(10*time.Microsecond + 1) // second bucket
	h.Observe(3 * time.Millisecond)    // the 5ms bucket
	h.Observe(time.Minute)             // above every bound
	counts, sum := h.Load()
	want := map[int]uint64{0: 2, 1: 1, 8: 1, Buckets - 1: 1}
	for i, c := range counts {
		if c != want[i] {
			t.Errorf("bucket %d (≤ %v): %d, want %d", i, boundName(i), c, want[i])
		}
	}
	if wantSum := 20*time.Microsecond + 1 + 3*time.Millisecond + time.Minute; sum != wantSum {
		t.Errorf("sum %v, want %v", sum, wantSum)
	}
}

func boundName(i int) string {
	if i < len(Bounds) {
		return Bounds[i].String()
	}
	return "+Inf"
}

func TestBoundsIncrease(t *testing.T) {
	t.Parallel()
	for i := 1; i < len(Bounds); i++ {
		if Bounds[i] <= Bounds[i-1] {
			t.Fatalf("bound %d (%v) is not above bound %d (%v)", i, Bounds[i], i-1, Bounds[i-1])
		}
	}
}

func TestConcurrentObserveLosesNothing(t *testing.T) {
	t.Parallel()
	var h Histogram
	const workers, each = 8, 1000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				h.Observe(time.Duration(w*each+i) * time.Microsecond)
			}
		})
	}
	wg.Wait()
	counts, _ := h.Load()
	var n uint64
	for _, c := range counts {
		n += c
	}
	if n != workers*each {
		t.Fatalf("%d observations counted, want %d", n, workers*each)
	}
}

func BenchmarkObserve(b *testing.B) {
	var h Histogram
	d := 3 * time.Millisecond
	b.ReportAllocs()
	for b.Loop() {
		h.Observe(d)
	}
}

func BenchmarkObserveParallel(b *testing.B) {
	var h Histogram
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.Observe(700 * time.Microsecond)
		}
	})
}
