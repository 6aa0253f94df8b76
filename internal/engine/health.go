package engine

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Health tracks the failing parts of a node's connectivity (connections,
// the heartbeat) and logs every change between healthy and unhealthy
// once. Build one with NewHealth; its methods are safe for concurrent
// use.
type Health struct {
	log      *slog.Logger
	down, up string // log messages
	mu       sync.Mutex
	errs     map[string]error
	ok       atomic.Bool
}

// NewHealth returns a healthy tracker that logs down (at level Error,
// with the failing component and its error) when a component fails while
// all were working, and up (at level Info) when the last one recovers.
func NewHealth(log *slog.Logger, down, up string) *Health {
	h := &Health{log: log, down: down, up: up, errs: make(map[string]error)}
	h.ok.Store(true)
	return h
}

// Set records the state of component (err nil: working).
func (h *Health) Set(component string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		delete(h.errs, component)
	} else {
		h.errs[component] = err
	}
	ok := len(h.errs) == 0
	if ok == h.ok.Load() {
		return
	}
	h.ok.Store(ok)
	if ok {
		h.log.Info(h.up)
	} else {
		h.log.Error(h.down, "component", component, "err", err)
	}
}

// OK reports whether every component works, without locking.
func (h *Health) OK() bool { return h.ok.Load() }

// Err describes every failing component, sorted, or returns nil.
func (h *Health) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.errs) == 0 {
		return nil
	}
	parts := make([]string, 0, len(h.errs))
	for c, err := range h.errs {
		parts = append(parts, c+": "+err.Error())
	}
	sort.Strings(parts)
	return fmt.Errorf("%s", strings.Join(parts, "; "))
}
