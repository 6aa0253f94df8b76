package transport

import (
	"errors"
	"net"
	"os"
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
	queued   int             // bytes in queue
	writing  bool            // a writer (flusher or goroutine) owns the socket's writes
	closing  bool            // close frame queued: no more data accepted
	netDone  bool            // nc closed
	readDone bool            // read loop ended
	released bool            // Handler.Released called
	hurry    bool            // aborting: writes get closeGrace, not WriteTimeout
	held     bool            // on the flusher's coalescing list
	ctl      int             // control bytes queued since the socket last took bytes
	taken    int             // frames ever taken from the queue: the index of queue[0]
	keys     map[confKey]int // conflation key → index (from taken) of its queued frame
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
// queue over Config.MaxQueueBurstBytes closes the connection as a slow
// consumer (4408) instead. It reports whether the frame was queued.
func (c *Conn) Send(frame []byte) bool {
	return c.enqueue(frame, "", "", false)
}

// SendKeyed is Send for a frame with a conflation key: while the
// connection is over Config.MaxQueueBytes, a frame still queued with the
// same channel and key is replaced by this one, in its place, instead of
// the queue growing. An empty key is Send.
func (c *Conn) SendKeyed(frame []byte, channel, key string) bool {
	return c.enqueue(frame, channel, key, false)
}

// SendControl queues a reply to the client's own requests or a ping
// (pongs, errors, acknowledgements). Control frames queued since the
// socket last took bytes are bounded by MaxQueueBytes plus
// ControlReserve, so a client that sends requests and never reads the
// answers is closed as a slow consumer, while one whose queue is busy
// with a burst of events still gets its answers.
func (c *Conn) SendControl(frame []byte) { c.enqueue(frame, "", "", true) }

// ControlReserve is the room control frames have beyond MaxQueueBytes.
const ControlReserve = 64 << 10

// confKey identifies the frames that replace each other under conflation.
type confKey struct{ channel, key string }

// enqueue appends frame to the queue and starts the writer if none runs.
//
// The slow-consumer policy decides on progress. Up to MaxQueueBytes (the
// soft bound) every frame is queued. Past it, a keyed frame replaces the
// queued frame with its key, and others are queued up to
// MaxQueueBurstBytes (the hard cap): a connection whose socket keeps
// draining rides out a burst. Past the hard cap, or when the socket takes
// nothing for WriteTimeout (the writer's deadline), the connection is
// closed as a slow consumer.
func (c *Conn) enqueue(frame []byte, channel, key string, control bool) bool {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return false
	}
	cfg := &c.pool.cfg
	size := c.queued + len(frame)
	over := false
	switch {
	case control:
		c.ctl += len(frame)
		over = c.ctl > cfg.MaxQueueBytes+ControlReserve || size > cfg.MaxQueueBurstBytes+ControlReserve
	case size > cfg.MaxQueueBytes:
		if key != "" && c.replaceLocked(confKey{channel, key}, frame) {
			c.mu.Unlock()
			c.pool.Counters.Conflated.Add(1)
			return true
		}
		over = size > cfg.MaxQueueBurstBytes
	}
	if over {
		c.mu.Unlock()
		c.pool.Counters.Slow.Add(1)
		c.Abort(protocol.CodeSlowConsumer, "slow consumer: outbound queue full")
		return false
	}
	if key != "" {
		c.rememberLocked(confKey{channel, key})
	}
	c.queue = append(c.queue, frame)
	c.queued = size
	start := c.startWriterLocked()
	hot := start && c.raw != nil && !control && c.flusher.busy(c.prevWrite, c.lastWrite)
	promote := false
	if start {
		c.held = hot
	} else if c.held && size > maxCoalesce {
		// Held for coalescing with more than one write's worth: hold no
		// longer.
		c.held, promote = false, true
	}
	if hot {
		c.flusher.add(c, true) // see flusher.add
	}
	c.mu.Unlock()
	if start && !hot {
		c.startWriter(false)
	} else if promote {
		c.flusher.promote()
	}
	return true
}

// rememberLocked records that the frame about to be appended carries k.
func (c *Conn) rememberLocked(k confKey) {
	if c.keys == nil {
		c.keys = make(map[confKey]int)
	}
	c.keys[k] = c.taken + len(c.queue)
}

// replaceLocked puts frame in the place of the queued frame keyed k, if
// one is still queued, and reports whether it did.
func (c *Conn) replaceLocked(k confKey, frame []byte) bool {
	at, ok := c.keys[k]
	i := at - c.taken
	if !ok || i < 0 || i >= len(c.queue) {
		return false
	}
	c.queued += len(frame) - len(c.queue[i])
	c.queue[i] = frame
	return true
}

// takeLocked removes up to limit bytes of frames (at least one) from the
// front of the queue and returns them; the writer hands the slice back
// with giveBackLocked. Frames left queued can still be conflated.
func (c *Conn) takeLocked(limit int) [][]byte {
	n, size := 0, 0
	for n < len(c.queue) && (n == 0 || size+len(c.queue[n]) <= limit) {
		size += len(c.queue[n])
		n++
	}
	var batch [][]byte
	if n == len(c.queue) {
		batch = c.queue
		c.queue, c.spare = c.spare[:0], nil
	} else {
		batch = append(c.spare[:0], c.queue[:n]...)
		c.spare = nil
		clear(c.queue[:n])
		c.queue = c.queue[n:]
	}
	c.queued -= size
	c.taken += n
	// Entries of frames taken are stale (replaceLocked ignores them);
	// they are dropped when the queue empties, or swept when they could
	// outnumber the queued frames, so a sweep costs no more than the
	// frames queued since the last one.
	if len(c.keys) > 0 && (len(c.queue) == 0 || len(c.keys) > 2*len(c.queue)+64) {
		for k, at := range c.keys {
			if at < c.taken {
				delete(c.keys, k)
			}
		}
	}
	return batch
}

// ForgetKeys makes the frames queued for channel irreplaceable: called
// when the connection leaves channel, so that a keyed event of a later
// subscription never takes the place of one queued before it (ahead of
// that subscription's acknowledgement).
func (c *Conn) ForgetKeys(channel string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.keys {
		if k.channel == channel {
			delete(c.keys, k)
		}
	}
}

// giveBackLocked returns a written batch's slice for reuse.
func (c *Conn) giveBackLocked(batch [][]byte) {
	clear(batch)
	c.spare = batch[:0]
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
		c.queued += len(last)
	}
	closeFrame := wsframe.Close(c.h.CloseCode(code), reason)
	c.queue = append(c.queue, closeFrame)
	c.queued += len(closeFrame)
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

// armDeadline sets the deadline of the writer's next write: WriteTimeout,
// or closeGrace once the connection is being aborted. Every write gets a
// deadline of its own, so a connection is given up on when its socket
// takes nothing for that long, not when a long backlog takes long.
func (c *Conn) armDeadline() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	timeout := c.pool.cfg.WriteTimeout
	if c.hurry {
		timeout = closeGrace
	}
	return c.nc.SetWriteDeadline(time.Now().Add(timeout))
}

// writerBatch bounds the bytes a writer goroutine takes from the queue at
// a time; what stays queued can still be conflated.
const writerBatch = 4 * maxCoalesce

// writeLoop is the connection's only writer while it runs: it takes over
// from the flusher when a write has to wait, and does all the writing for
// a connection without a file descriptor.
func (c *Conn) writeLoop() {
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
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
		batch := c.takeLocked(writerBatch)
		c.mu.Unlock()

		err := c.writeBatch(batch)
		c.mu.Lock()
		c.giveBackLocked(batch)
		if err != nil {
			c.writeFailedLocked(err)
		}
		c.mu.Unlock()
	}
}

// writeBatch writes frames, coalescing small frames into a pooled buffer
// so that a burst costs few write calls, each under its own deadline.
func (c *Conn) writeBatch(frames [][]byte) error {
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
			if err := c.write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
		if len(f) > maxCoalesce || (len(frames) == 1 && len(buf) == 0) {
			if err := c.write(f); err != nil {
				return err
			}
			continue
		}
		buf = append(buf, f...)
	}
	if len(buf) > 0 {
		return c.write(buf)
	}
	return nil
}

// write makes one blocking write under a fresh deadline and notes the
// progress: control frames queued before it count as answered.
func (c *Conn) write(b []byte) error {
	if err := c.armDeadline(); err != nil {
		return err
	}
	n, err := c.nc.Write(b)
	if n > 0 {
		c.pool.Counters.Written.Add(uint64(n))
	}
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.ctl = 0
	c.mu.Unlock()
	return nil
}

// writeFailedLocked gives up on a connection whose socket write failed:
// nothing queued can reach it any more. A write that timed out means the
// client took nothing for WriteTimeout: a slow consumer, counted as such
// unless it was already being aborted. The caller holds mu.
func (c *Conn) writeFailedLocked(err error) {
	if !c.hurry && errors.Is(err, os.ErrDeadlineExceeded) {
		c.pool.Counters.Slow.Add(1)
	}
	c.hurry = true
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

// Queued returns the bytes queued for the connection and not yet taken
// by its writer.
func (c *Conn) Queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queued
}

// FastPath reports whether a flusher writes this connection without
// blocking (a plain socket on Linux); false means a writer goroutine of
// its own does.
func (c *Conn) FastPath() bool { return c.raw != nil }
