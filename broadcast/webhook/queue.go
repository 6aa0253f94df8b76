package webhook

import "sync"

// queue is an endpoint's bounded FIFO of encoded events. When a push
// exceeds the count or byte bound, the oldest events are dropped to make
// room. Its lock is never held across I/O.
type queue struct {
	mu       sync.Mutex
	buf      [][]byte // ring buffer, grown on demand up to maxLen
	head, n  int
	bytes    int
	maxLen   int
	maxBytes int
	closed   bool
	ready    chan struct{} // capacity 1: "something was pushed"
}

func newQueue(maxLen, maxBytes int) *queue {
	return &queue{maxLen: maxLen, maxBytes: maxBytes, ready: make(chan struct{}, 1)}
}

// push appends ev and returns how many older events it evicted. It
// returns ok false, and keeps nothing, once the queue is closed.
func (q *queue) push(ev []byte) (evicted int, ok bool) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return 0, false
	}
	for q.n > 0 && (q.n >= q.maxLen || q.bytes+len(ev) > q.maxBytes) {
		q.popFront()
		evicted++
	}
	if q.n == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.n)%len(q.buf)] = ev
	q.n++
	q.bytes += len(ev)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return evicted, true
}

func (q *queue) grow() {
	size := min(max(2*len(q.buf), 16), q.maxLen)
	nb := make([][]byte, size)
	for i := range q.n {
		nb[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	q.buf, q.head = nb, 0
}

func (q *queue) popFront() []byte {
	ev := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	q.bytes -= len(ev)
	return ev
}

// full reports whether a batch of maxEvents events or budget bytes is
// waiting (the worker then sends without waiting for the window).
func (q *queue) full(maxEvents, budget int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n >= maxEvents || q.bytes+q.n >= budget
}

// take removes up to maxEvents events whose sizes plus one separator each
// fit in budget; it always takes at least one event when there is one.
func (q *queue) take(maxEvents, budget int) [][]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out [][]byte
	used := 0
	for q.n > 0 && len(out) < maxEvents {
		next := len(q.buf[q.head]) + 1
		if len(out) > 0 && used+next > budget {
			break
		}
		out = append(out, q.popFront())
		used += next
	}
	if q.n == 0 && len(q.buf) > 1024 {
		q.buf, q.head = nil, 0 // give a burst's memory back
	}
	return out
}

// len returns the number of waiting events.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// close refuses further pushes and returns what was still waiting.
func (q *queue) close() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	n := q.n
	q.buf, q.head, q.n, q.bytes = nil, 0, 0, 0
	return n
}
