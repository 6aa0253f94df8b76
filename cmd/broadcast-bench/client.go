//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Classes of connections: measured ones, and the slow readers of S4
// (measured apart, excluded from loss accounting).
const (
	classMain = 0
	classSlow = 1
)

// client is one benchmark connection. It opens and subscribes with
// blocking reads on a net.Conn, then hands its socket to a poller, whose
// goroutine reads it from then on (one read per readable socket instead
// of a goroutine per connection).
//
// Locks: io guards in/frag/nc and serializes reading; wmu guards writes;
// fd changes only with both held (io first). mu guards the streams and
// the close state.
type client struct {
	r     *runner
	slot  int
	class int
	id    int32
	pl    *poller

	io     sync.Mutex
	nc     net.Conn // during the handshake only
	fd     int      // after the handshake; -1 once closed
	in     []byte   // bytes of an incomplete frame
	rxTime int64    // kernel receive time of the bytes being parsed; 0: use the clock
	frag   []byte   // a fragmented message being assembled
	paused bool

	wmu  sync.Mutex
	wbuf []byte

	done    chan struct{}
	planned atomic.Bool // we closed it on purpose (churn, end of run)

	pos *posState // s5: the stream position of its one subscription (under mu); nil otherwise

	mu        sync.Mutex
	subs      []subState
	nReady    int
	connected bool
	closed    bool
	closeCode int // code of the server's close frame; 0 without one
	firstErr  string
}

type subState struct {
	ch      uint32
	wire    string
	ready   bool
	keep    bool     // streams carried over from a previous connection (s5): not restarted when confirmed
	streams []Stream // one per publisher
}

var errClosedByServer = errors.New("closed by the server")

func newClient(r *runner, slot, class int) *client {
	c := &client{r: r, slot: slot, class: class, fd: -1, done: make(chan struct{})}
	c.id = r.nextConn.Add(1)
	c.pl = r.pollers[int(c.id)%len(r.pollers)]
	if r.cfg.Scenario == "s5" {
		c.pos = &posState{}
	}
	for _, ch := range r.topo.Subs(slot) {
		c.subs = append(c.subs, subState{ch: ch, wire: r.wire[ch], streams: make([]Stream, r.cfg.Publishers)})
	}
	return c
}

// open connects, upgrades, performs the protocol handshake and
// subscribes; on success the socket belongs to the poller.
func (c *client) open(ctx context.Context, u *url.URL) (err error) {
	defer func() {
		if err != nil {
			c.planned.Store(true) // a failed open is a connect failure, not a close
			c.shutdown(0, err)
		}
	}()
	rcvbuf := 0
	if c.class == classSlow {
		rcvbuf = c.r.cfg.SlowRcvBuf
	}
	nc, err := c.r.dialBuf(ctx, "tcp", u.Host, rcvbuf)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	c.io.Lock()
	c.nc = nc
	c.io.Unlock()
	if c.planned.Load() { // closed by churn meanwhile
		return errors.New("closed before open")
	}
	deadline := time.Now().Add(20 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = nc.SetDeadline(deadline)
	req, accept := upgradeRequest(u.Host, u.RequestURI())
	if _, err := nc.Write(req); err != nil {
		return err
	}
	buf := make([]byte, 0, 4096)
	for {
		n, err := nc.Read(buf[len(buf):cap(buf)])
		if err != nil {
			return fmt.Errorf("upgrade: %w", err)
		}
		buf = buf[:len(buf)+n]
		h, err := parseUpgrade(buf, accept)
		if err != nil {
			return err
		}
		if h > 0 {
			c.in = append(c.in[:0], buf[h:]...)
			break
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
	for _, f := range c.r.ad.Hello() {
		if err := c.write(opText, f); err != nil {
			return err
		}
	}
	if err := c.pump(func() bool { return c.connected }); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	for i, s := range c.subs {
		f := c.r.ad.Subscribe(i, s.wire)
		if c.pos != nil && c.pos.since {
			f = subscribeSince(s.wire, c.pos.last, c.pos.epoch)
		}
		if err := c.write(opText, f); err != nil {
			return err
		}
	}
	if err := c.pump(func() bool { return c.nReady == len(c.subs) }); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	return c.handOver()
}

// pump reads from the handshake connection until done() holds.
func (c *client) pump(done func() bool) error {
	for {
		if err := c.consume(nil); err != nil {
			return err
		}
		c.mu.Lock()
		ok := done()
		c.mu.Unlock()
		if ok {
			return nil
		}
		var tmp [4096]byte
		n, err := c.nc.Read(tmp[:])
		if err != nil {
			return err
		}
		c.in = append(c.in, tmp[:n]...)
	}
}

// handOver moves the socket from the Go net.Conn to the poller: the fd is
// duplicated, the net.Conn closed (which leaves the socket open through
// the duplicate), and the duplicate watched by the poller's epoll.
func (c *client) handOver() error {
	rc, err := c.nc.(syscall.Conn).SyscallConn()
	if err != nil {
		return err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) {
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, s, syscall.F_DUPFD_CLOEXEC, 0)
		if e != 0 {
			derr = e
			return
		}
		fd = int(r)
	}); err != nil {
		return err
	}
	if derr != nil {
		return derr
	}
	c.io.Lock()
	c.wmu.Lock()
	_ = c.nc.Close()
	c.nc, c.fd = nil, fd
	c.wmu.Unlock()
	err = syscall.SetNonblock(fd, true)
	if err == nil && c.pl.kernelClock {
		err = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	}
	if err == nil {
		err = c.pl.add(c)
	}
	c.io.Unlock()
	if err == nil && c.planned.Load() {
		return errors.New("closed during handshake")
	}
	return err
}

// close ends the connection on purpose with a close frame.
func (c *client) close() {
	c.planned.Store(true)
	c.io.Lock()
	if c.nc != nil {
		_ = c.nc.Close() // a handshake in progress fails
		c.io.Unlock()
		return
	}
	if c.fd >= 0 {
		_ = c.write(opClose, []byte{0x03, 0xe8}) // 1000
	}
	c.io.Unlock()
	c.shutdown(0, errors.New("closed by the benchmark"))
}

// shutdown closes the socket and records the end once.
func (c *client) shutdown(_ int, why error) {
	c.io.Lock()
	c.wmu.Lock()
	if c.nc != nil {
		_ = c.nc.Close()
		c.nc = nil
	}
	if c.fd >= 0 {
		_ = syscall.Close(c.fd) // also leaves the epoll set
		c.fd = -1
	}
	c.wmu.Unlock()
	c.io.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	if c.firstErr == "" && why != nil {
		c.firstErr = why.Error()
	}
	code := c.closeCode
	c.mu.Unlock()
	c.pl.forget(c)
	close(c.done)
	c.r.onClose(c, code)
}

// stopReading takes the socket out of the poller: the kernel buffers fill
// up and the server's queue for it grows.
func (c *client) stopReading() {
	c.io.Lock()
	defer c.io.Unlock()
	if c.fd >= 0 && !c.paused {
		c.paused = true
		_ = c.pl.remove(c)
	}
}

func (c *client) resumeReading() {
	c.io.Lock()
	defer c.io.Unlock()
	if c.fd >= 0 && c.paused {
		c.paused = false
		_ = c.pl.add(c)
	}
}

func (c *client) isClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}
