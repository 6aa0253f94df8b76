package broker

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// orderedSink is a deliver func that checks what a channel's subscribers
// would see: offsets in order, none missing or repeated, and never two
// deliveries at once.
type orderedSink struct {
	t        *testing.T
	inFlight atomic.Int32
	mu       sync.Mutex
	last     uint64
	n        int
	gate     chan struct{} // when set, the first delivery waits for it to close
	started  chan struct{} // closed when the first delivery starts
	once     sync.Once
}

func (o *orderedSink) deliver(e *Envelope) {
	if o.inFlight.Add(1) != 1 {
		o.t.Error("two deliveries of one channel at once")
	}
	defer o.inFlight.Add(-1)
	if o.gate != nil {
		o.once.Do(func() { close(o.started); <-o.gate })
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if e.Position.Offset != o.last+1 {
		o.t.Errorf("offset %d after %d", e.Position.Offset, o.last)
	}
	o.last = e.Position.Offset
	o.n++
}

func (o *orderedSink) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n
}

func historyEnvelope(ch string) *Envelope {
	e := New(ch, "E", []byte(`{}`))
	e.Retention = &Retention{Size: 100, TTL: time.Minute}
	return e
}

// Concurrent publishers of one channel: every publication is delivered
// once, in offset order, one at a time, and all of them by the time the
// last Publish returns; no Publish delivers more than its tenure's and
// the queue's worth of others' publications.
func TestMemHistoryConcurrentPublishers(t *testing.T) {
	t.Parallel()
	h := &memHistory{now: time.Now}
	sink := &orderedSink{t: t}
	const publishers, each = 16, 2000
	var wg sync.WaitGroup
	var most atomic.Int64 // the most publications one Publish delivered
	for range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				var n int64
				deliver := func(e *Envelope) { n++; sink.deliver(e) }
				if err := h.publish(historyEnvelope("c"), deliver); err != nil {
					t.Error(err)
					return
				}
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
			}
		}()
	}
	wg.Wait()
	// The last publishers to finish may drain what the others queued.
	if m := most.Load(); m > maxTenure+maxBatch+maxPending {
		t.Errorf("one Publish delivered %d publications, want at most %d", m, maxTenure+maxBatch+maxPending)
	}
	t.Logf("the most one Publish delivered: %d", most.Load())
	if got := sink.count(); got != publishers*each {
		t.Fatalf("%d delivered when every Publish returned, want %d", got, publishers*each)
	}
	st := h.existing("c")
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.delivering || len(st.pending) != 0 {
		t.Fatalf("delivering %v with %d pending after the last Publish", st.delivering, len(st.pending))
	}
}

// A delivery that stalls: at most maxPending publications queue behind
// it and their publishers return; the next publishers wait, one of them
// takes delivery over when the stalled one finishes its batch, and every
// publication is delivered in order.
func TestMemHistoryPendingBound(t *testing.T) {
	t.Parallel()
	h := &memHistory{now: time.Now}
	sink := &orderedSink{t: t, gate: make(chan struct{}), started: make(chan struct{})}
	firstDone := make(chan struct{})
	go func() {
		defer close(firstDone)
		if err := h.publish(historyEnvelope("c"), sink.deliver); err != nil {
			t.Error(err)
		}
	}()
	<-sink.started
	const extra = 10
	var returned atomic.Int32
	var wg sync.WaitGroup
	for range maxPending + extra {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := h.publish(historyEnvelope("c"), sink.deliver); err != nil {
				t.Error(err)
			}
			returned.Add(1)
		}()
	}
	st := h.existing("c")
	state := func() (pending int, successor bool) {
		st.mu.Lock()
		defer st.mu.Unlock()
		return len(st.pending), st.baton != nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, succ := state()
		if p == maxPending && succ && returned.Load() == maxPending {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pending %d, successor %v, returned %d; want %d, true, %d", p, succ, returned.Load(), maxPending, maxPending)
		}
		time.Sleep(time.Millisecond) // polling a condition with a deadline
	}
	if p, _ := state(); p > maxPending {
		t.Fatalf("%d pending, bound %d", p, maxPending)
	}
	close(sink.gate)
	wg.Wait()
	<-firstDone
	if got, want := sink.count(), maxPending+extra+1; got != want {
		t.Fatalf("%d delivered, want %d", got, want)
	}
}

// A sweep never forgets a stream while its delivery runs: publications
// of one epoch would otherwise be delivered alongside the next's.
func TestMemHistorySweepSkipsDelivering(t *testing.T) {
	t.Parallel()
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	h := &memHistory{now: clock}
	sink := &orderedSink{t: t, gate: make(chan struct{}), started: make(chan struct{})}
	e := historyEnvelope("c")
	e.Retention.TTL = time.Millisecond
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = h.publish(e, sink.deliver)
	}()
	<-sink.started
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	h.stream("other", time.Minute, clock()) // sweeps
	if st := h.existing("c"); st == nil || st.dead {
		t.Fatal("the stream was forgotten while delivering")
	}
	close(sink.gate)
	<-done
}
