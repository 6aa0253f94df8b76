package redisbroker

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// health tracks the failing parts of the node's Redis connectivity (each
// pub/sub partition and the heartbeat) and logs every change between
// healthy and unhealthy once.
type health struct {
	mu   sync.Mutex
	errs map[string]error
	ok   atomic.Bool
	log  *slog.Logger
}

func (h *health) init(log *slog.Logger) {
	h.errs = make(map[string]error)
	h.log = log
	h.ok.Store(true)
}

// set records the state of component (err nil: working).
func (h *health) set(component string, err error) {
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
		h.log.Info("redisbroker: redis available again; subscriptions and presence restored")
	} else {
		h.log.Error("redisbroker: redis unavailable; local connections stay up, emits fail until it returns",
			"component", component, "err", err)
	}
}

// err describes every failing component, or returns nil.
func (h *health) err() error {
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
