//go:build linux

package transport

import (
	"errors"
	"net"
	"syscall"
	"time"
	"unsafe"

	"github.com/gorilla/websocket"
)

// attachRaw gives c the non-blocking write fast path when its socket has
// a file descriptor (a plain TCP or Unix socket; not TLS). It reports
// whether it did.
func attachRaw(c *Conn) bool {
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	c.raw, c.rawWrite = raw, c.rawWriteFn
	return true
}

// writeNow makes one non-blocking write of b. It returns how much was
// written; a full socket is not an error.
func (c *Conn) writeNow(b []byte) (int, error) {
	c.wbuf = b
	err := c.raw.Write(c.rawWrite)
	n, werr := c.wn, c.werr
	c.wbuf, c.wn, c.werr = nil, 0, nil
	if err != nil {
		return 0, err
	}
	if errors.Is(werr, syscall.EAGAIN) {
		return max(n, 0), nil
	}
	return max(n, 0), werr
}

// rawWriteFn is handed to syscall.RawConn.Write once per connection (so
// no closure is built per write): one write of c.wbuf, never waiting.
//
// The socket is non-blocking, so the call cannot park the thread; it is
// made with RawSyscall, without the scheduler's system-call bookkeeping.
// For a write of a few microseconds that bookkeeping costs about as much
// as the write, and a flusher writing back to back would otherwise have
// its processor taken away by the runtime's monitor in the middle of the
// burst and handed to another thread.
func (c *Conn) rawWriteFn(fd uintptr) bool {
	b := c.wbuf
	for {
		n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
		switch errno {
		case 0:
			c.wn, c.werr = int(n), nil
		case syscall.EINTR:
			continue
		default:
			c.wn, c.werr = 0, errno
		}
		return true
	}
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
