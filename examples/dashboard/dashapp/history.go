package dashapp

import "sync"

// history keeps the last n samples for the page's first paint.
type history struct {
	mu      sync.Mutex
	samples []MetricsUpdated
	next    int
	full    bool
}

func newHistory(n int) *history { return &history{samples: make([]MetricsUpdated, n)} }

func (h *history) add(m MetricsUpdated) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.samples[h.next] = m
	h.next = (h.next + 1) % len(h.samples)
	h.full = h.full || h.next == 0
}

// all returns the samples, oldest first.
func (h *history) all() []MetricsUpdated {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.full {
		return append([]MetricsUpdated(nil), h.samples[:h.next]...)
	}
	return append(append([]MetricsUpdated(nil), h.samples[h.next:]...), h.samples[:h.next]...)
}
