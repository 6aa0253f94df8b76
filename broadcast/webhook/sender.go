package webhook

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
)

// Sender posts events to the configured endpoints. Each endpoint has its
// own bounded queue and goroutine, so a slow or dead receiver delays and
// loses only its own events. Its methods are safe for concurrent use.
type Sender struct {
	cfg     Config
	workers []*worker
	invalid atomic.Int64
	report  *reporter

	closing   chan struct{} // closed by Close: flush, then exit
	abort     context.Context
	cancel    context.CancelFunc // ends in-flight requests and backoffs
	closeOnce sync.Once
	closed    atomic.Bool
	wg        sync.WaitGroup
	ownClient bool
}

// New validates cfg and starts one goroutine per endpoint. With no
// endpoints the Sender accepts and discards every event.
func New(cfg Config) (*Sender, error) {
	cfg, eps, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Sender{cfg: cfg, closing: make(chan struct{}), report: newReporter(cfg.Logger, cfg.LogInterval)}
	if s.cfg.Client == nil {
		s.cfg.Client = newClient()
		s.ownClient = true
	}
	s.abort, s.cancel = context.WithCancel(context.Background())
	for _, ep := range eps {
		w := newWorker(s, ep)
		s.workers = append(s.workers, w)
		s.wg.Add(1)
		go w.run()
	}
	return s, nil
}

// newClient returns a client of the Sender's own that does not follow
// redirects: a 3xx answer is a failure, as a webhook must not be resent
// elsewhere (or turned into a GET).
func newClient() *http.Client {
	return &http.Client{
		Transport:     http.DefaultTransport.(*http.Transport).Clone(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Send queues events for every endpoint whose filter wants them and
// returns at once: it never waits for the network or for room in a
// queue. An invalid event (see Event.MarshalJSON) is counted in
// Stats.Invalid; an event too large for MaxBodyBytes, an event pushing
// older ones out of a full queue, and events sent after Close are counted
// in Stats.Dropped.
func (s *Sender) Send(events ...Event) {
	closed := s.closed.Load()
	for _, ev := range events {
		b, err := ev.MarshalJSON()
		if err != nil {
			s.invalid.Add(1)
			s.report.fail("webhook: invalid event not sent", err)
			continue
		}
		bit, _ := nameBit(ev.Name)
		tooLarge := len(b)+bodyOverhead > s.cfg.MaxBodyBytes
		for _, w := range s.workers {
			if w.ep.filter&bit == 0 {
				continue
			}
			switch {
			case closed:
				w.drop(reasonClosed, 1)
			case tooLarge:
				w.drop(reasonTooLarge, 1)
			default:
				evicted, ok := w.q.push(b)
				w.drop(reasonQueueFull, evicted)
				if !ok {
					w.drop(reasonClosed, 1)
				}
			}
		}
	}
}

// Close stops accepting events and delivers what is queued, retries
// included, until ctx ends; then it cancels what is in flight, drops the
// rest (counted in Stats.Dropped) and returns ctx's error. Every goroutine
// of the Sender has exited when Close returns. Calling it again waits
// again.
func (s *Sender) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		close(s.closing)
	})
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		s.cancel()
		<-done
	}
	s.cancel()
	if s.ownClient {
		s.cfg.Client.CloseIdleConnections()
	}
	s.report.flush()
	return err
}

// Stats is a snapshot of a Sender's counters.
type Stats struct {
	// Events counts events delivered (answered 2xx).
	Events int64
	// Requests counts requests answered 2xx.
	Requests int64
	// Failures counts failed attempts: network errors, timeouts, non-2xx.
	Failures int64
	// Retries counts attempts after the first of a request.
	Retries int64
	// Dropped counts events given up: queue full (oldest dropped), too
	// large, retries exhausted or not retryable, or Close.
	Dropped int64
	// Invalid counts events Send refused (per Send, not per endpoint).
	Invalid int64
	// Queued is the number of events waiting now.
	Queued int
	// Endpoints holds the same counters per endpoint, in Config order.
	Endpoints []EndpointStats
}

// EndpointStats are the counters of one endpoint.
type EndpointStats struct {
	// URL is the endpoint's URL, its password redacted.
	URL                                          string
	Events, Requests, Failures, Retries, Dropped int64
	Queued                                       int
}

// Stats returns the current counters; events count once per endpoint.
func (s *Sender) Stats() Stats {
	st := Stats{Invalid: s.invalid.Load()}
	for _, w := range s.workers {
		e := EndpointStats{
			URL: w.ep.shown, Events: w.events.Load(), Requests: w.requests.Load(), Failures: w.failures.Load(),
			Retries: w.retries.Load(), Dropped: w.dropped.Load(), Queued: w.q.len(),
		}
		st.Events += e.Events
		st.Requests += e.Requests
		st.Failures += e.Failures
		st.Retries += e.Retries
		st.Dropped += e.Dropped
		st.Queued += e.Queued
		st.Endpoints = append(st.Endpoints, e)
	}
	return st
}
