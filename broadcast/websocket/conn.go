package websocket

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// conn is one client connection. Its read goroutine owns the subscription
// set; its outbound queue is guarded by mu. At most one writer runs at a
// time: a goroutine started when the first frame lands in an empty queue,
// which drains everything queued per wake-up and exits when the queue is
// empty, so an idle connection has no writer goroutine and no write buffer.
type conn struct {
	srv   *Server
	ws    *websocket.Conn
	nc    net.Conn
	id    string
	proto protocol

	mu       sync.Mutex
	queue    [][]byte
	spare    [][]byte
	queued   int  // bytes in queue
	writing  bool // a writer goroutine is running
	closing  bool // close frame queued: no more data accepted
	netDone  bool // nc closed
	readDone bool // read loop ended
	released bool // srv.wg.Done called
	hurry    bool // aborting: writes get closeGrace, not WriteTimeout
	pinger   *time.Timer
	ident    Identity    // who the connection speaks for; guarded by mu
	expiry   *time.Timer // closes the connection when id expires

	// Non-blocking writes from a flusher (nil raw: TLS or another
	// net.Conn without a file descriptor; a writer goroutine does all
	// the writing). wbuf, wn and werr belong to whoever holds writing.
	flusher   *flusher
	prevWrite int64 // clock of the flusher's last two complete writes;
	lastWrite int64 // guarded by mu
	raw       syscall.RawConn
	rawWrite  func(fd uintptr) bool
	wbuf      []byte
	wn        int
	werr      error

	// owned by the read goroutine
	subs   map[string]*subscription
	limits clientEventLimiter
}

// SocketID implements hub.Subscriber.
func (c *conn) SocketID() string { return c.id }

// Codec implements hub.Subscriber.
func (c *conn) Codec() int { return c.proto.codec() }

// Send implements hub.Subscriber: it queues a frame without blocking. A
// frame that would take the queue over MaxQueueBytes closes the connection
// as a slow consumer instead.
func (c *conn) Send(frame []byte) bool {
	return c.enqueue(frame, true)
}

// sendControl queues a small frame that bypasses the byte bound (pongs,
// pings, replies to the client's own requests).
func (c *conn) sendControl(frame []byte) { c.enqueue(frame, false) }

// enqueue appends frame to the queue and starts the writer if none runs.
// With bounded set, a frame that would take the queue over MaxQueueBytes
// aborts the connection as a slow consumer instead.
func (c *conn) enqueue(frame []byte, bounded bool) bool {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return false
	}
	if bounded && c.queued+len(frame) > c.srv.cfg.MaxQueueBytes {
		c.mu.Unlock()
		c.srv.stats.slow.Add(1)
		c.abort(CodeSlowConsumer, "slow consumer: outbound queue full")
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
func (c *conn) startWriter(hot bool) {
	if c.raw != nil {
		c.flusher.add(c, hot)
		return
	}
	go c.writeLoop()
}

func (c *conn) startWriterLocked() bool {
	if c.writing || c.netDone {
		return false
	}
	c.writing = true
	return true
}

// closeWith queues an optional last frame (an error frame) and a close
// frame, after the frames already queued when flush is true, or instead of
// them. Later frames are refused. The writer closes the socket once the
// close frame is out (or its write fails or times out).
func (c *conn) closeWith(code int, reason string, last []byte, flush bool) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true
	c.stopTimersLocked()
	if !flush {
		clear(c.queue)
		c.queue, c.queued = c.queue[:0], 0
	}
	if last != nil {
		c.queue = append(c.queue, last)
	}
	c.queue = append(c.queue, closeFrame(closeCodeFor(c.proto, code), reason))
	start := c.startWriterLocked()
	c.mu.Unlock()
	if start {
		c.startWriter(false)
	}
}

func (c *conn) stopTimersLocked() {
	if c.pinger != nil {
		c.pinger.Stop()
	}
	if c.expiry != nil {
		c.expiry.Stop()
	}
}

// closeGrace bounds the writes of a connection being aborted.
const closeGrace = time.Second

// abort closes a connection that cannot keep up: queued frames are
// dropped, and the write in progress (likely blocked on a full socket
// buffer) and the close frame get closeGrace instead of WriteTimeout.
func (c *conn) abort(code int, reason string) {
	c.mu.Lock()
	c.hurry = true
	// Under mu, like the writer's own deadline (armDeadline): whichever
	// comes last sees hurry, so a write in progress gets closeGrace.
	_ = c.nc.SetWriteDeadline(time.Now().Add(closeGrace))
	c.mu.Unlock()
	c.closeWith(code, reason, nil, false)
}

// armDeadline sets the deadline of the writer's next batch: WriteTimeout,
// or closeGrace once the connection is being aborted.
func (c *conn) armDeadline() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	timeout := c.srv.cfg.WriteTimeout
	if c.hurry {
		timeout = closeGrace
	}
	return c.nc.SetWriteDeadline(time.Now().Add(timeout))
}

// writeLoop is the connection's only writer while it runs: it takes over
// from the flusher when a write has to wait, and does all the writing for
// a connection without a file descriptor.
func (c *conn) writeLoop() {
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

var writeBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

const maxCoalesce = 64 << 10

// writeBatch writes frames with one deadline, coalescing small frames into
// a pooled buffer so that a burst costs one write call.
func (c *conn) writeBatch(frames [][]byte) error {
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
func (c *conn) writeFailedLocked() {
	c.closing = true
	clear(c.queue)
	c.queue, c.queued = c.queue[:0], 0
}

// closeNet closes the socket once and releases the connection if its read
// loop has ended too.
func (c *conn) closeNet() {
	c.mu.Lock()
	already := c.netDone
	c.netDone = true
	c.closing = true
	c.stopTimersLocked()
	c.mu.Unlock()
	if !already {
		_ = c.nc.Close()
	}
	c.maybeRelease()
}

// maybeRelease tells the server this connection is gone once both the
// read loop and any writer have finished and the socket is closed.
func (c *conn) maybeRelease() {
	c.mu.Lock()
	done := c.readDone && c.netDone && !c.writing && !c.released
	if done {
		c.released = true
	}
	c.mu.Unlock()
	if done {
		c.srv.release(c)
	}
}

// identity returns who the connection speaks for.
func (c *conn) identity() Identity {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ident
}

// setIdentity records the connection's credential and (re)arms the timer
// that closes the connection with 4407 when it expires.
func (c *conn) setIdentity(id Identity) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ident = id
	if c.expiry != nil {
		c.expiry.Stop()
		c.expiry = nil
	}
	if id.Expires.IsZero() || c.closing {
		return
	}
	c.expiry = time.AfterFunc(time.Until(id.Expires), func() {
		e := protoErr(CodeTokenExpired, nil, "token expired; reconnect or send a refresh frame before expiry")
		c.closeWith(e.Code, "token expired", c.proto.errorFrame(e, ""), true)
	})
}

// schedulePing arms the ping timer; the ping is queued like any frame, so
// it is written by the writer.
func (c *conn) schedulePing() {
	interval := c.srv.cfg.PingInterval
	c.mu.Lock()
	c.pinger = time.AfterFunc(interval, func() {
		c.sendControl(pingFrame)
		c.mu.Lock()
		if !c.closing {
			c.pinger.Reset(interval)
		}
		c.mu.Unlock()
	})
	c.mu.Unlock()
}

var pingFrame = controlFrame(opPing, nil)

// readLoop reads frames until the socket fails, then cleans up.
func (c *conn) readLoop() {
	defer c.finishRead()
	cfg := &c.srv.cfg
	c.ws.SetReadLimit(cfg.MaxMessageSize)
	extend := func() { _ = c.nc.SetReadDeadline(time.Now().Add(cfg.ReadTimeout)) }
	extend()
	c.ws.SetPongHandler(func(string) error { extend(); return nil })
	c.ws.SetPingHandler(func(data string) error {
		extend()
		c.sendControl(controlFrame(opPong, []byte(data)))
		return nil
	})
	c.ws.SetCloseHandler(func(code int, _ string) error {
		if code == websocket.CloseNoStatusReceived {
			code = websocket.CloseNormalClosure
		}
		c.closeWith(code, "", nil, false)
		return nil
	})
	for {
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			c.readFailed(err)
			return
		}
		extend()
		if mt != websocket.TextMessage {
			c.sendError(protoErr(CodeBinaryFrame, nil, "binary frames are not supported"), "")
			continue
		}
		c.handleOffStack(data)
	}
}

// handleOffStack runs the protocol handler on a short-lived goroutine and
// waits for it. Handling (JSON decoding, authorization, presence) needs a
// deep stack; the read loop, which lives as long as the connection, keeps
// a small one, so an idle connection costs less memory. Frames are still
// handled one at a time, in order.
func (c *conn) handleOffStack(data []byte) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.proto.handle(c, data)
	}()
	<-done
}

func (c *conn) readFailed(err error) {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		c.closeWith(CodePongTimeout, "no activity within read timeout", nil, false)
	case errors.Is(err, websocket.ErrReadLimit):
		c.closeWith(CloseMessageTooLarge, "message too large", nil, false)
	case isProtocolError(err):
		c.closeWith(websocket.CloseProtocolError, "protocol error", nil, false)
	default:
		c.closeWith(websocket.CloseNormalClosure, "", nil, false)
	}
}

// isProtocolError reports whether gorilla refused a frame that breaks
// RFC 6455 (bad opcode, unmasked frame, reserved bits…): such errors are
// plain "websocket: …" errors, not socket errors or close frames.
func isProtocolError(err error) bool {
	var ne net.Error
	var ce *websocket.CloseError
	return !errors.As(err, &ne) && !errors.As(err, &ce) && !errors.Is(err, io.EOF) &&
		!errors.Is(err, net.ErrClosed) && strings.HasPrefix(err.Error(), "websocket: ")
}

// muteLibraryWriter stops gorilla from ever writing to a socket that a
// flusher writes to. This package writes every frame itself; gorilla
// would otherwise answer a protocol error or an oversized frame with a
// close frame of its own, written from the read goroutine: it could land
// inside a frame the flusher had only partly written, and it would hold
// the socket's write lock, for up to a second on a full socket, while a
// flusher waits for it. A write under an expired deadline fails before
// any byte is sent, and gorilla refuses every later write after a failed
// one. The read loop sends the matching close frames (1002, 1009) through
// the queue. Only for plain sockets: a TLS connection would count the
// failed record and break, and its writes are whole records anyway.
func muteLibraryWriter(ws *websocket.Conn, nc net.Conn) {
	_ = ws.SetWriteDeadline(time.Unix(1, 0))
	_ = ws.WriteMessage(websocket.TextMessage, nil)
	_ = nc.SetWriteDeadline(time.Time{})
}

// finishRead runs when the read loop ends: it leaves every channel, then
// lets the writer flush the close frame and release the connection.
func (c *conn) finishRead() {
	c.closeWith(websocket.CloseNormalClosure, "", nil, false)
	c.srv.leaveAll(c)
	c.mu.Lock()
	c.readDone = true
	writing := c.writing
	c.mu.Unlock()
	if !writing {
		c.closeNet()
		return
	}
	c.maybeRelease()
}

// sendError queues an error frame for a non-fatal problem.
func (c *conn) sendError(e *ProtocolError, channel string) {
	c.sendControl(c.proto.errorFrame(e, channel))
}
