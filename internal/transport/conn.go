package transport

import (
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitykode/velocity/internal/protocol"
	"github.com/velocitykode/velocity/internal/wsframe"
)

// Conn is one client connection's transport. Build it with Pool.Attach
// or Pool.Init.
// Its outbound queue is guarded by mu. At most one writer runs at a time:
// the connection's flusher, or a writer goroutine started when a write
// has to wait, which drains everything queued per wake-up and exits when
// the queue is empty, so an idle connection has no writer goroutine and
// no write buffer.
type Conn struct {
	pool *Pool
	ws   *websocket.Conn
	nc   net.Conn
	h    Handler

	mu       sync.Mutex
	queue    [][]byte
	spare    [][]byte
	queued   int  // bytes in queue
	writing  bool // a writer (flusher or goroutine) owns the socket's writes
	closing  bool // close frame queued: no more data accepted
	netDone  bool // nc closed
	readDone bool // read loop ended
	released bool // Handler.Released called
	hurry    bool // aborting: writes get closeGrace, not WriteTimeout
	pinger   *time.Timer

	// Non-blocking writes from a flusher (nil raw: TLS or another
	// net.Conn without a file descriptor, or a system without the fast
	// path; a writer goroutine does all the writing). wbuf, wn and werr
	// belong to whoever holds writing.
	flusher   *flusher
	prevWrite int64 // clock of the flusher's last two complete writes;
	lastWrite int64 // guarded by mu
	raw       syscall.RawConn
	rawWrite  func(fd uintptr) bool
	wbuf      []byte
	wn        int
	werr      error
}

// Send queues a frame without blocking. A frame that would take the
// queue over Config.MaxQueueBytes closes the connection as a slow consumer
// (4408) instead. It reports whether the frame was queued.
func (c *Conn) Send(frame []byte) bool {
	return c.enqueue(frame, true)
}

// SendControl queues a reply to the client's own requests or a ping
// (pongs, errors, acknowledgements). It counts against the same bound as
// Send, with ControlReserve bytes more, so that a client that sends
// requests and never reads the answers is closed as a slow consumer too.
func (c *Conn) SendControl(frame []byte) { c.enqueue(frame, false) }

// ControlReserve is the room control frames have beyond MaxQueueBytes, so
// that a client whose queue is full of events still gets its answers.
const ControlReserve = 64 << 10

// enqueue appends frame to the queue and starts the writer if none runs.
// A frame that would take the queue over its bound (MaxQueueBytes, plus
// ControlReserve for a control frame) aborts the connection as a slow
// consumer instead.
func (c *Conn) enqueue(frame []byte, bounded bool) bool {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return false
	}
	limit := c.pool.cfg.MaxQueueBytes
	if !bounded {
		limit += ControlReserve
	}
	if c.queued+len(frame) > limit {
		c.mu.Unlock()
		c.pool.Counters.Slow.Add(1)
		c.Abort(protocol.CodeSlowConsumer, "slow consumer: outbound queue full")
		return false
	}
	c.queue = append(c.queue, frame)
	c.queued += len(frame)
	start := c.startWriterLocked()
	hot := start && c.raw != nil && bounded && c.flusher.busy(c.prevWrite, c.lastWrite)
	c.mu.Unlock()
	if start {
		c.startWriter(hot)
	}
	return true
}

// startWriter hands the connection, which has just been marked writing,
// to its flusher (to wait for more frames when hot), or to a writer
// goroutine when it has no file descriptor.
func (c *Conn) startWriter(hot bool) {
	if c.raw != nil {
		c.flusher.add(c, hot)
		return
	}
	go c.writeLoop()
}

func (c *Conn) startWriterLocked() bool {
	if c.writing || c.netDone {
		return false
	}
	c.writing = true
	return true
}

// Close queues an optional last frame (an error frame) and a close frame
// with code (mapped by Handler.CloseCode), after the frames already
// queued when flush is true, or instead of them. Later frames are refused.
// The writer closes the socket once the close frame is out (or its write
// fails or times out). Only the first call counts.
func (c *Conn) Close(code int, reason string, last []byte, flush bool) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true
	c.stopTimerLocked()
	if !flush {
		clear(c.queue)
		c.queue, c.queued = c.queue[:0], 0
	}
	if last != nil {
		c.queue = append(c.queue, last)
	}
	c.queue = append(c.queue, wsframe.Close(c.h.CloseCode(code), reason))
	start := c.startWriterLocked()
	c.mu.Unlock()
	if start {
		c.startWriter(false)
	}
}

// Closing reports whether the connection is closing: it accepts no more
// frames.
func (c *Conn) Closing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// Cut closes the socket at once, without a close frame.
func (c *Conn) Cut() { _ = c.nc.Close() }

func (c *Conn) stopTimerLocked() {
	if c.pinger != nil {
		c.pinger.Stop()
	}
}

// closeGrace bounds the writes of a connection being aborted.
const closeGrace = time.Second

// Abort closes a connection that cannot keep up: queued frames are
// dropped, and the write in progress (likely blocked on a full socket
// buffer) and the close frame get a one-second grace instead of
// WriteTimeout.
func (c *Conn) Abort(code int, reason string) {
	c.mu.Lock()
	c.hurry = true
	// Under mu, like the writer's own deadline (armDeadline): whichever
	// comes last sees hurry, so a write in progress gets closeGrace.
	_ = c.nc.SetWriteDeadline(time.Now().Add(closeGrace))
	c.mu.Unlock()
	c.Close(code, reason, nil, false)
}

// armDeadline sets the deadline of the writer's next batch: WriteTimeout,
// or closeGrace once the connection is being aborted.
func (c *Conn) armDeadline() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	timeout := c.pool.cfg.WriteTimeout
	if c.hurry {
		timeout = closeGrace
	}
	return c.nc.SetWriteDeadline(time.Now().Add(timeout))
}

// writeLoop is the connection's only writer while it runs: it takes over
// from the flusher when a write has to wait, and does all the writing for
// a connection without a file descriptor.
func (c *Conn) writeLoop() {
	for {
		c.mu.Lock()
		batch := c.queue
		if len(batch) == 0 {
			closeNow := c.closing
			if !closeNow && c.raw != nil {
				// The flusher's writes check the deadline too: clear it
				// before the next writer can set one.
				_ = c.nc.SetWriteDeadline(time.Time{})
			}
			c.writing = false
			c.mu.Unlock()
			if closeNow {
				c.closeNet()
			}
			return
		}
		c.queue, c.spare = c.spare[:0], nil
		c.queued = 0
		c.mu.Unlock()

		err := c.writeBatch(batch)
		clear(batch)
		c.mu.Lock()
		c.spare = batch[:0]
		if err != nil {
			c.writeFailedLocked()
		}
		c.mu.Unlock()
	}
}

// writeBatch writes frames with one deadline, coalescing small frames into
// a pooled buffer so that a burst costs one write call.
func (c *Conn) writeBatch(frames [][]byte) error {
	if err := c.armDeadline(); err != nil {
		return err
	}
	if len(frames) == 1 {
		_, err := c.nc.Write(frames[0])
		return err
	}
	bp := writeBufPool.Get().(*[]byte)
	buf := (*bp)[:0]
	defer func() {
		if cap(buf) <= maxCoalesce*2 {
			*bp = buf[:0]
			writeBufPool.Put(bp)
		}
	}()
	for _, f := range frames {
		if len(buf) > 0 && len(buf)+len(f) > maxCoalesce {
			if _, err := c.nc.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
		if len(f) > maxCoalesce {
			if _, err := c.nc.Write(f); err != nil {
				return err
			}
			continue
		}
		buf = append(buf, f...)
	}
	if len(buf) > 0 {
		_, err := c.nc.Write(buf)
		return err
	}
	return nil
}

// writeFailedLocked gives up on a connection whose socket write failed:
// nothing queued can reach it any more. The caller holds mu.
func (c *Conn) writeFailedLocked() {
	c.closing = true
	clear(c.queue)
	c.queue, c.queued = c.queue[:0], 0
}

// closeNet closes the socket once and releases the connection if its read
// loop has ended too.
func (c *Conn) closeNet() {
	c.mu.Lock()
	already := c.netDone
	c.netDone = true
	c.closing = true
	c.stopTimerLocked()
	c.mu.Unlock()
	if !already {
		_ = c.nc.Close()
	}
	c.maybeRelease()
}

// maybeRelease tells the handler this connection is gone once both the
// read loop and any writer have finished and the socket is closed.
func (c *Conn) maybeRelease() {
	c.mu.Lock()
	done := c.readDone && c.netDone && !c.writing && !c.released
	if done {
		c.released = true
	}
	c.mu.Unlock()
	if done {
		c.h.Released()
	}
}

// schedulePing arms the ping timer; the ping is queued like any frame, so
// it is written by the writer.
func (c *Conn) schedulePing() {
	interval := c.pool.cfg.PingInterval
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return
	}
	c.pinger = time.AfterFunc(interval, func() {
		c.SendControl(wsframe.Ping)
		c.mu.Lock()
		if !c.closing {
			c.pinger.Reset(interval)
		}
		c.mu.Unlock()
	})
}

// FastPath reports whether a flusher writes this connection without
// blocking (a plain socket on Linux); false means a writer goroutine of
// its own does.
func (c *Conn) FastPath() bool { return c.raw != nil }
