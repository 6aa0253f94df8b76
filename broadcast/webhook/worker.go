package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/velocitykode/velocity/broadcast/signature"
)

// Drop reasons, as logged.
const (
	reasonQueueFull = "queue full"
	reasonTooLarge  = "event larger than MaxBodyBytes"
	reasonGaveUp    = "delivery failed"
	reasonClosed    = "sender closed"
)

// bodyOverhead bounds the bytes of a body around its events:
// {"time_ms":<up to 20 digits>,"events":[ ]}.
const bodyOverhead = 48

// worker delivers one endpoint's queue, one request at a time.
type worker struct {
	s      *Sender
	ep     endpointConf
	q      *queue
	report *reporter

	events, requests, failures, retries, dropped atomic.Int64
}

func newWorker(s *Sender, ep endpointConf) *worker {
	return &worker{
		s: s, ep: ep, q: newQueue(s.cfg.QueueSize, s.cfg.QueueBytes),
		report: newReporter(s.cfg.Logger, s.cfg.LogInterval, "url", ep.shown),
	}
}

func (w *worker) drop(reason string, n int) {
	if n <= 0 {
		return
	}
	w.dropped.Add(int64(n))
	w.report.drop(reason, n)
}

func (w *worker) closing() bool {
	select {
	case <-w.s.closing:
		return true
	default:
		return false
	}
}

// run is the endpoint's goroutine: wait for events, let a batch gather
// for BatchWindow (unless a full batch is waiting or Close was called),
// deliver it, repeat. It exits when Close has been called and the queue
// is empty, or when Close's context ends.
func (w *worker) run() {
	defer w.s.wg.Done()
	defer func() {
		w.drop(reasonClosed, w.q.close())
		w.report.flush()
	}()
	cfg := &w.s.cfg
	budget := cfg.MaxBodyBytes - bodyOverhead
	for {
		if w.s.abort.Err() != nil {
			return
		}
		if w.q.len() == 0 {
			if w.closing() {
				return
			}
			select {
			case <-w.q.ready:
			case <-w.s.closing:
			case <-w.s.abort.Done():
			}
			continue
		}
		if !w.closing() && !w.q.full(cfg.MaxBatch, budget) {
			w.gather(budget)
		}
		if batch := w.q.take(cfg.MaxBatch, budget); len(batch) > 0 {
			w.deliver(batch)
		}
	}
}

// gather waits for BatchWindow, or less when a full batch is ready or
// Close is called.
func (w *worker) gather(budget int) {
	t := time.NewTimer(w.s.cfg.BatchWindow)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return
		case <-w.s.closing:
			return
		case <-w.s.abort.Done():
			return
		case <-w.q.ready:
			if w.q.full(w.s.cfg.MaxBatch, budget) {
				return
			}
		}
	}
}

// buildBody returns {"time_ms":ms,"events":[e1,e2,…]}.
func buildBody(ms int64, events [][]byte) []byte {
	size := bodyOverhead
	for _, e := range events {
		size += len(e) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, `{"time_ms":`...)
	b = strconv.AppendInt(b, ms, 10)
	b = append(b, `,"events":[`...)
	for i, e := range events {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e...)
	}
	return append(b, "]}"...)
}

// deliver posts batch until it is answered 2xx, a failure is not
// retryable, MaxAttempts or MaxAge is reached, or Close's context ends.
// Every attempt sends the same bytes.
func (w *worker) deliver(batch [][]byte) {
	cfg := &w.s.cfg
	body := buildBody(time.Now().UnixMilli(), batch)
	sig := signature.Sign(cfg.AppSecret, string(body))
	first := time.Now()
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			w.retries.Add(1)
		}
		retryAfter, err := w.post(body, sig)
		if err == nil {
			w.requests.Add(1)
			w.events.Add(int64(len(batch)))
			return
		}
		w.failures.Add(1)
		w.report.fail("webhook: delivery attempt failed", err, "attempt", attempt)
		var perm permanentError
		if errors.As(err, &perm) || attempt >= cfg.MaxAttempts || w.s.abort.Err() != nil {
			w.drop(reasonGaveUp, len(batch))
			return
		}
		delay := w.backoff(attempt, retryAfter)
		if time.Since(first)+delay > cfg.MaxAge {
			w.drop(reasonGaveUp, len(batch))
			return
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-w.s.abort.Done():
			t.Stop()
			w.drop(reasonClosed, len(batch))
			return
		}
	}
}

// backoff returns the wait before retry number attempt: RetryBase doubled
// per previous retry, capped at RetryMax, drawn uniformly from its upper
// half; a Retry-After answer, capped at RetryMax, wins when longer.
func (w *worker) backoff(attempt int, retryAfter time.Duration) time.Duration {
	cfg := &w.s.cfg
	d := cfg.RetryBase
	for i := 1; i < attempt && d < cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, cfg.RetryMax)
	d = d/2 + rand.N(d/2+1)
	return max(d, min(retryAfter, cfg.RetryMax))
}

// permanentError is a failure not worth retrying (3xx, 4xx other than
// 408 and 429).
type permanentError struct {
	status int
	err    error
}

func (e permanentError) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	return fmt.Sprintf("status %d (not retried)", e.status)
}

// post sends one attempt. It returns nil on 2xx, a permanentError for
// answers not worth retrying, and any other error (network, timeout, 5xx,
// 408, 429) with the Retry-After the receiver asked for, if any.
func (w *worker) post(body []byte, sig string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(w.s.abort, w.s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.ep.url, bytes.NewReader(body))
	if err != nil {
		return 0, permanentError{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Pusher-Key", w.s.cfg.AppKey)
	req.Header.Set("X-Pusher-Signature", sig)
	resp, err := w.s.cfg.Client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // lets the connection be reused
	_ = resp.Body.Close()
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		return 0, nil
	case s >= 500, s == http.StatusTooManyRequests, s == http.StatusRequestTimeout:
		return parseRetryAfter(resp.Header.Get("Retry-After")), fmt.Errorf("status %d", s)
	default:
		return 0, permanentError{status: s}
	}
}

// parseRetryAfter reads a Retry-After of delay-seconds (dates are ignored).
func parseRetryAfter(v string) time.Duration {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(min(n, 3600)) * time.Second
}
