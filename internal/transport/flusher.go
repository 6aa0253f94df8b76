package transport

import (
	"sync"
	"sync/atomic"
	"time"
)

// A flusher writes the queued frames of many connections from one
// goroutine, so that delivering a message to a connection whose queue was
// empty costs no goroutine of its own. Connections with something to send
// are marked dirty; the flusher takes the dirty list in rounds and gives
// each connection one non-blocking write of everything it has queued.
//
// A write that would block (the client reads slowly and the socket's send
// buffer is full) is never waited for here: the connection's remaining
// bytes go to a writer goroutine of its own (Conn.writeLoop), which waits
// under the write timeout. One connection can therefore never hold up the
// others.
//
// Busy connections are written in batches: a connection whose last two
// writes and the new frame each came less than hotAfter×coalesce apart
// waits up to coalesce (Config.WriteCoalesce) on a second list, so that
// the frames of a busy channel share one write; a connection that gets
// frames rarely (or two close together by chance) is written at once and
// never waits. With a fixed write delay
// (Config.WriteDelay), every round starts that long after the previous.
//
// The flusher goroutine runs only while connections are dirty and exits
// when a round finds none.
type flusher struct {
	delay    time.Duration // Config.WriteDelay
	coalesce time.Duration // Config.WriteCoalesce; 0: off

	mu      sync.Mutex
	dirty   []*Conn   // written in the next round
	later   []*Conn   // busy connections, written coalesce after laterAt
	laterAt time.Time // when later became non-empty
	spare   []*Conn
	running bool
	urgent  bool          // a connection on later holds a full write: write later now
	wake    chan struct{} // a connection became dirty while run waits for later

	buf []byte // coalescing buffer; owned by the running goroutine

	written atomic.Uint64 // bytes this flusher wrote (a counter of its own: no sharing between flushers)
}

// hotAfter: a connection written less than hotAfter×coalesce ago is busy.
const hotAfter = 4

// clock is a monotonic time in nanoseconds since the process started,
// cheap to keep per connection.
var clockBase = time.Now()

func clock() int64 { return int64(time.Since(clockBase)) }

func newFlusher(delay, coalesce time.Duration) *flusher {
	return &flusher{delay: delay, coalesce: max(coalesce, 0), wake: make(chan struct{}, 1)}
}

// busy reports whether a connection whose last two writes were at prev
// and last (clock) gets frames often enough to have them coalesced.
func (f *flusher) busy(prev, last int64) bool {
	w := int64(hotAfter * f.coalesce)
	return f.coalesce > 0 && prev != 0 && last-prev < w && clock()-last < w
}

// add marks c dirty, to be written in the next round, or after the
// coalescing wait when hot. The caller has set c.writing: until the
// flusher hands c back, nobody else writes to it. A hot c is added with
// c.mu held (lock order: c.mu, then f.mu), so that promote, which runs
// under no lock of c, always finds it on the list.
func (f *flusher) add(c *Conn, hot bool) {
	f.mu.Lock()
	signal := false
	if hot {
		if len(f.later) == 0 {
			f.laterAt = time.Now()
		}
		f.later = append(f.later, c)
	} else {
		f.dirty = append(f.dirty, c)
		signal = len(f.dirty) == 1
	}
	start := !f.running
	f.running = true
	f.mu.Unlock()
	if start {
		go f.run()
	} else if signal {
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
}

// promote ends the coalescing wait early: a connection on the later list
// holds more than one write's worth, so the list is written now.
func (f *flusher) promote() {
	f.mu.Lock()
	f.urgent = len(f.later) > 0
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *flusher) run() {
	var timer *time.Timer
	for {
		if f.delay > 0 {
			time.Sleep(f.delay)
		}
		f.mu.Lock()
		if len(f.dirty) == 0 && len(f.later) == 0 {
			f.running = false
			f.mu.Unlock()
			if timer != nil {
				timer.Stop()
			}
			return
		}
		waited := time.Since(f.laterAt)
		laterDue := len(f.later) > 0 && (waited >= f.coalesce || f.urgent)
		if len(f.dirty) == 0 && !laterDue {
			// Only busy connections: wait for them to gather frames,
			// or for a connection that must not wait.
			f.mu.Unlock()
			if timer == nil {
				timer = time.NewTimer(f.coalesce - waited)
			} else {
				timer.Reset(f.coalesce - waited)
			}
			select {
			case <-timer.C:
			case <-f.wake:
				timer.Stop()
			}
			continue
		}
		batch := f.dirty
		f.dirty, f.spare = f.spare[:0], nil
		if laterDue {
			batch = append(batch, f.later...)
			clear(f.later)
			f.later = f.later[:0]
			f.urgent = false
		}
		f.mu.Unlock()

		for i, c := range batch {
			c.flush(f)
			batch[i] = nil
		}
		f.mu.Lock()
		f.spare = batch[:0]
		f.mu.Unlock()
		if cap(f.buf) > 2*maxCoalesce {
			f.buf = nil
		}
	}
}

// flush writes everything c has queued without blocking. It runs on the
// flusher goroutine, which owns c's writes until flush returns or hands
// them to a writer goroutine.
func (c *Conn) flush(f *flusher) {
	c.mu.Lock()
	c.held = false
	if len(c.queue) == 0 {
		c.writing = false
		closeNow := c.closing
		c.mu.Unlock()
		if closeNow {
			c.closeNet()
		}
		return
	}
	if c.queued > maxCoalesce || c.hurry {
		// A backlog this large, or an abort, is the writer's job: it
		// writes in chunks under a deadline.
		hurry := c.hurry
		c.mu.Unlock()
		if !hurry {
			c.pool.Counters.Stalls.Add(1)
		}
		go c.writeLoop()
		return
	}
	batch := c.takeLocked(maxCoalesce)
	c.mu.Unlock()

	out := batch[0]
	if len(batch) > 1 {
		out = f.buf[:0]
		for _, fr := range batch {
			out = append(out, fr...)
		}
		f.buf = out
	}
	n, err := c.writeNow(out)
	if n > 0 {
		f.written.Add(uint64(n))
	}

	c.mu.Lock()
	c.giveBackLocked(batch)
	if n > 0 {
		c.ctl = 0
	}
	switch {
	case err == nil && n == len(out):
		c.prevWrite, c.lastWrite = c.lastWrite, clock()
		if len(c.queue) > 0 {
			// More arrived during the write: a busy connection, held for
			// coalescing unless it already has a write's worth.
			// It joins the flusher's list before c.mu is released, so a
			// frame that makes it a write's worth finds it there to
			// promote.
			hot := f.coalesce > 0 && c.queued <= maxCoalesce
			c.held = hot
			f.add(c, hot)
			c.mu.Unlock()
			return
		}
		c.writing = false
		closeNow := c.closing
		c.mu.Unlock()
		if closeNow {
			c.closeNet()
		}
	case err == nil:
		// The socket is full: a writer goroutine waits for the rest.
		c.mu.Unlock()
		rest := out[n:]
		if len(batch) > 1 {
			rest = append([]byte(nil), rest...) // f.buf is reused
		}
		go c.writeRest(rest)
	default:
		c.writeFailedLocked(err)
		c.writing = false
		c.mu.Unlock()
		c.closeNet()
	}
}

// writeRest finishes a write the flusher could not complete, waiting for
// the socket under the write timeout, then drains the queue as the
// connection's writer.
func (c *Conn) writeRest(rest []byte) {
	c.pool.Counters.Stalls.Add(1)
	if err := c.write(rest); err != nil {
		c.mu.Lock()
		c.writeFailedLocked(err)
		c.mu.Unlock()
	}
	c.writeLoop()
}
