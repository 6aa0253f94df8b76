package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRetriesThenDeliversOnce(t *testing.T) {
	t.Parallel()
	rv := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) int {
		switch n {
		case 1: // network error: the connection is closed without an answer
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return 0
		case 2:
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	s := newSender(t, Config{Endpoints: []Endpoint{{URL: rv.url()}}, BatchWindow: 20 * time.Millisecond,
		RetryBase: 10 * time.Millisecond, Logger: quiet})
	const n = 10
	for i := range n {
		s.Send(MemberAdded("presence-r", fmt.Sprint(i)))
	}
	waitFor(t, 5*time.Second, "delivery", func() bool { return s.Stats().Events == n })
	reqs, evs := rv.snapshot()
	if len(reqs) != 3 {
		t.Fatalf("%d attempts, want 3", len(reqs))
	}
	for i := 1; i < 3; i++ {
		if !bytes.Equal(reqs[i].body, reqs[0].body) {
			t.Errorf("attempt %d sent a different body", i+1)
		}
	}
	seen := map[any]int{}
	for _, e := range evs {
		seen[e["user_id"]]++
	}
	for i := range n {
		if seen[fmt.Sprint(i)] != 1 {
			t.Errorf("event %d accepted %d times", i, seen[fmt.Sprint(i)])
		}
	}
	st := s.Stats()
	if st.Failures != 2 || st.Retries != 2 || st.Requests != 1 || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestGivesUpAtMaxAttempts(t *testing.T) {
	t.Parallel()
	failing := newReceiver(t, func(int, http.ResponseWriter, *http.Request) int { return http.StatusInternalServerError })
	refusing := newReceiver(t, func(int, http.ResponseWriter, *http.Request) int { return http.StatusForbidden })
	s := newSender(t, Config{Endpoints: []Endpoint{{URL: failing.url()}, {URL: refusing.url()}},
		BatchWindow: 10 * time.Millisecond, MaxAttempts: 3, RetryBase: 5 * time.Millisecond, Logger: quiet})
	s.Send(ChannelOccupied("a"))
	waitFor(t, 5*time.Second, "both dropped", func() bool { return s.Stats().Dropped == 2 })
	st := s.Stats()
	f, r := st.Endpoints[0], st.Endpoints[1]
	if f.Failures != 3 || f.Retries != 2 || f.Dropped != 1 {
		t.Errorf("500 endpoint %+v: want 3 attempts then dropped", f)
	}
	if r.Failures != 1 || r.Retries != 0 || r.Dropped != 1 {
		t.Errorf("403 endpoint %+v: want 1 attempt, no retry", r)
	}
	// No further attempts after giving up.
	s.Send(ChannelVacated("a"))
	waitFor(t, 5*time.Second, "second event dropped", func() bool { return s.Stats().Dropped == 4 })
	if reqs, _ := failing.snapshot(); len(reqs) != 6 {
		t.Errorf("500 endpoint saw %d requests, want 6", len(reqs))
	}
	if reqs, _ := refusing.snapshot(); len(reqs) != 2 {
		t.Errorf("403 endpoint saw %d requests, want 2", len(reqs))
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	rv := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) int {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			return http.StatusTooManyRequests
		}
		return http.StatusOK
	})
	s := newSender(t, Config{Endpoints: []Endpoint{{URL: rv.url()}}, BatchWindow: 10 * time.Millisecond,
		RetryBase: 5 * time.Millisecond, RetryMax: 3 * time.Second, Logger: quiet})
	s.Send(ChannelOccupied("a"))
	waitFor(t, 5*time.Second, "delivery", func() bool { return s.Stats().Events == 1 })
	reqs, _ := rv.snapshot()
	if gap := reqs[1].at.Sub(reqs[0].at); gap < 900*time.Millisecond {
		t.Errorf("retried after %v despite Retry-After: 1", gap)
	}
}

// TestDeadReceiverBoundedMemory sends 100k events to a receiver that
// answers 500 forever: the queue stays at its bound, the heap does not
// grow with the events, and every event is accounted for as dropped.
func TestDeadReceiverBoundedMemory(t *testing.T) {
	t.Parallel()
	// A receiver of its own that keeps nothing, so the heap measures the Sender.
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		hits.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	const queueSize, total = 1000, 100_000
	s, err := New(Config{AppKey: testKey, AppSecret: testSecret, Endpoints: []Endpoint{{URL: srv.URL}},
		QueueSize: queueSize, MaxAttempts: 2, RetryBase: time.Millisecond, BatchWindow: 5 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.HeapAlloc
	data := strings.Repeat("d", 500) // unbounded, 100k of these would be > 50 MB
	maxQueued := 0
	for i := range total {
		s.Send(ClientEvent("private-flood", "client-x", data, fmt.Sprint(i), ""))
		if i%1000 == 0 {
			maxQueued = max(maxQueued, s.Stats().Queued)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	grown := int64(ms.HeapAlloc) - int64(before)
	t.Logf("heap growth %d KiB, max queued %d", grown>>10, maxQueued)
	if maxQueued > queueSize {
		t.Errorf("queue held %d events, bound %d", maxQueued, queueSize)
	}
	if grown > 16<<20 {
		t.Errorf("heap grew by %d MiB for a bounded queue", grown>>20)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_ = s.Close(ctx)
	st := s.Stats()
	if st.Events != 0 || st.Dropped != total || st.Queued != 0 {
		t.Errorf("stats %+v: want all %d events dropped", st, total)
	}
	if st.Failures == 0 || st.Retries == 0 || st.Failures != hits.Load() {
		t.Errorf("stats %+v: want failed attempts and retries", st)
	}
}

func TestSilentReceiverDoesNotBlockOthers(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	silent := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) int {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return 0
	})
	t.Cleanup(func() { close(release) }) // runs before the server closes
	ok := newReceiver(t, nil)
	const timeout = time.Second
	s := newSender(t, Config{Endpoints: []Endpoint{{URL: silent.url()}, {URL: ok.url()}}, BatchWindow: 10 * time.Millisecond,
		Timeout: timeout, MaxAttempts: 2, RetryBase: 10 * time.Millisecond, Logger: quiet})
	for i := range 5 {
		start := time.Now()
		s.Send(MemberAdded("presence-s", fmt.Sprint(i)))
		waitFor(t, 5*time.Second, "healthy endpoint", func() bool { return ok.acceptedCount() == i+1 })
		if took := time.Since(start); took > timeout {
			t.Errorf("event %d took %v to reach the healthy endpoint (timeout of the silent one: %v)", i, took, timeout)
		}
	}
	waitFor(t, 10*time.Second, "silent endpoint timeouts", func() bool { return s.Stats().Endpoints[0].Failures >= 2 })
	waitFor(t, 5*time.Second, "healthy answers counted", func() bool { return s.Stats().Endpoints[1].Events == 5 })
	if st := s.Stats().Endpoints[1]; st.Failures != 0 || st.Events != 5 {
		t.Errorf("healthy endpoint %+v", st)
	}
}

func TestCloseFlushesAndStopsAtDeadline(t *testing.T) {
	t.Parallel()
	rv := newReceiver(t, nil)
	s, err := New(Config{AppKey: testKey, AppSecret: testSecret, Endpoints: []Endpoint{{URL: rv.url()}}, BatchWindow: time.Hour, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	s.Send(ChannelOccupied("a"), ChannelOccupied("b"))
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := rv.acceptedCount(); got != 2 {
		t.Fatalf("Close flushed %d events, want 2 (without waiting for the window)", got)
	}
	s.Send(ChannelVacated("a"))
	if st := s.Stats(); st.Dropped != 1 {
		t.Errorf("send after Close: dropped %d, want 1", st.Dropped)
	}

	release := make(chan struct{})
	silent := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) int {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return 0
	})
	t.Cleanup(func() { close(release) })
	s2, err := New(Config{AppKey: testKey, AppSecret: testSecret, Endpoints: []Endpoint{{URL: silent.url()}},
		BatchWindow: time.Millisecond, Timeout: time.Minute, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	s2.Send(ChannelOccupied("a"))
	waitFor(t, 5*time.Second, "request in flight", func() bool { r, _ := silent.snapshot(); return len(r) == 1 })
	s2.Send(ChannelOccupied("b"), ChannelOccupied("c"))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s2.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want deadline exceeded", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Close took %v with a 100 ms context", took)
	}
	if st := s2.Stats(); st.Dropped != 3 || st.Queued != 0 {
		t.Errorf("stats %+v: want the in-flight and queued events dropped", st)
	}
}

// TestCloseEndsGoroutines counts the process's goroutines, so it does
// not run in parallel with other tests.
func TestCloseEndsGoroutines(t *testing.T) {
	rvs := []*receiver{newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, func(int, http.ResponseWriter, *http.Request) int { return 500 })}
	before := runtime.NumGoroutine()
	var eps []Endpoint
	for _, rv := range rvs {
		eps = append(eps, Endpoint{URL: rv.url()})
	}
	s, err := New(Config{AppKey: testKey, AppSecret: testSecret, Endpoints: eps, BatchWindow: time.Millisecond,
		RetryBase: time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		s.Send(ChannelOccupied(fmt.Sprint("c", i)))
	}
	waitFor(t, 5*time.Second, "deliveries", func() bool { return rvs[0].acceptedCount() == 50 && rvs[1].acceptedCount() == 50 })
	if n := runtime.NumGoroutine(); n < before+len(eps) {
		t.Fatalf("%d goroutines while running, want at least %d", n, before+len(eps))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.Close(ctx)
	waitFor(t, 5*time.Second, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= before })
}
