package broadcast

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultHookQueue is how many lifecycle events wait for the hooks at
// most (WithHookQueue).
const DefaultHookQueue = 4096

// DefaultHookTimeout bounds the context of one hook call
// (WithHookTimeout).
const DefaultHookTimeout = 5 * time.Second

// WithHookQueue sets how many lifecycle events may wait for the hooks
// (default DefaultHookQueue). An event that finds the queue full is
// dropped, counted in HookStats.Dropped and logged (at most every ten
// seconds).
func WithHookQueue(n int) Option {
	return func(b *Broadcaster) {
		if n > 0 {
			b.hooks.size = n
		}
	}
}

// WithHookTimeout sets when the context given to a hook ends (default
// DefaultHookTimeout). A hook that ignores it holds up the hooks after
// it, and events are dropped once the queue is full; delivery never
// waits.
func WithHookTimeout(d time.Duration) Option {
	return func(b *Broadcaster) {
		if d > 0 {
			b.hooks.timeout = d
		}
	}
}

// HookStats counts what became of lifecycle events.
type HookStats struct {
	// Queued is how many events wait now.
	Queued int `json:"queued"`
	// Ran counts hook calls, Panics those that panicked (they are
	// logged, and the next hooks run).
	Ran    uint64 `json:"ran"`
	Panics uint64 `json:"panics"`
	// Dropped counts events that found the queue full.
	Dropped uint64 `json:"dropped"`
}

// hookSet holds a broadcaster's hooks and the queue of events waiting
// for them. One goroutine runs the hooks, in the order the events came;
// it runs only while events wait.
type hookSet struct {
	size    int
	timeout time.Duration
	mask    atomic.Uint32 // bit k: some hook wants kind k

	mu      sync.Mutex
	byKind  [lastKind + 1][]hookEntry
	nextID  uint64
	ring    []LifecycleEvent
	head, n int
	running bool

	ran, panics, dropped atomic.Uint64
	lastDropLog          atomic.Int64
}

type hookEntry struct {
	id uint64
	fn Hook
}

// On registers fn for the events of kind and returns the function that
// removes it. Hooks run one at a time on a goroutine of the broadcaster,
// in the order the events happened on this process, after the event:
// they never hold up a connection or a delivery. A hook may call the
// broadcaster (to emit, say).
func (b *Broadcaster) On(kind LifecycleKind, fn Hook) (off func()) {
	if fn == nil || kind == 0 || kind > lastKind {
		return func() {}
	}
	h := &b.hooks
	h.mu.Lock()
	h.nextID++
	id := h.nextID
	h.byKind[kind] = append(h.byKind[kind], hookEntry{id, fn})
	h.mask.Store(h.mask.Load() | 1<<kind)
	h.mu.Unlock()
	return sync.OnceFunc(func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		// A new slice, so that a runner holding the old one is unaffected.
		h.byKind[kind] = slices.DeleteFunc(slices.Clone(h.byKind[kind]), func(e hookEntry) bool { return e.id == id })
		if len(h.byKind[kind]) == 0 {
			h.mask.Store(h.mask.Load() &^ (1 << kind))
		}
	})
}

// Wants reports whether a hook is registered for kind; drivers skip
// building the events nobody wants.
func (b *Broadcaster) Wants(kind LifecycleKind) bool {
	return b.hooks.mask.Load()&(1<<kind) != 0
}

// Notify queues e for the hooks of its kind; it never blocks. Drivers
// that serve connections call it; e.Time is set when zero.
func (b *Broadcaster) Notify(e LifecycleEvent) {
	if !b.Wants(e.Kind) {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	h := &b.hooks
	h.mu.Lock()
	if h.ring == nil {
		h.ring = make([]LifecycleEvent, h.size)
	}
	if h.n == len(h.ring) {
		h.mu.Unlock()
		b.dropHook(e)
		return
	}
	h.ring[(h.head+h.n)%len(h.ring)] = e
	h.n++
	start := !h.running
	h.running = true
	h.mu.Unlock()
	if start {
		go b.runHooks()
	}
}

func (b *Broadcaster) dropHook(e LifecycleEvent) {
	h := &b.hooks
	n := h.dropped.Add(1)
	now := time.Now().UnixNano()
	last := h.lastDropLog.Load()
	if now-last < int64(10*time.Second) || !h.lastDropLog.CompareAndSwap(last, now) {
		return
	}
	b.logger.Warn("broadcast: lifecycle hooks are behind, events dropped", "kind", e.Kind.String(), "dropped_total", n, "queue", h.size)
}

// runHooks runs the queued events' hooks until the queue is empty.
func (b *Broadcaster) runHooks() {
	h := &b.hooks
	for {
		h.mu.Lock()
		if h.n == 0 {
			h.running = false
			h.mu.Unlock()
			return
		}
		e := h.ring[h.head]
		h.ring[h.head] = LifecycleEvent{}
		h.head = (h.head + 1) % len(h.ring)
		h.n--
		hooks := h.byKind[e.Kind]
		h.mu.Unlock()
		for _, he := range hooks {
			b.runHook(he.fn, e)
		}
	}
}

func (b *Broadcaster) runHook(fn Hook, e LifecycleEvent) {
	h := &b.hooks
	ctx, cancel := context.WithTimeout(context.Background(), h.timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			h.panics.Add(1)
			b.logger.Error("broadcast: lifecycle hook panicked", "kind", e.Kind.String(), "channel", e.Channel, "socket_id", e.SocketID, "panic", p)
		}
	}()
	h.ran.Add(1)
	fn(ctx, e)
}

// HookStats returns the lifecycle hooks' counters.
func (b *Broadcaster) HookStats() HookStats {
	h := &b.hooks
	h.mu.Lock()
	queued := h.n
	h.mu.Unlock()
	return HookStats{Queued: queued, Ran: h.ran.Load(), Panics: h.panics.Load(), Dropped: h.dropped.Load()}
}
