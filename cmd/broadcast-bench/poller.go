//go:build linux

package main

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"sync"
	"syscall"
	"time"
)

// poller reads many sockets from one goroutine with a level-triggered
// epoll set. The epoll descriptor itself waits in Go's netpoller, so no
// thread blocks in epoll_wait.
type poller struct {
	// kernelClock stamps deliveries with the kernel's receive time.
	kernelClock bool
	epfd        int
	file        *os.File
	mu          sync.Mutex
	conns       map[int32]*client
}

func newPoller(kernelClock bool) (*poller, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	return &poller{kernelClock: kernelClock, epfd: fd, file: os.NewFile(uintptr(fd), "epoll"), conns: map[int32]*client{}}, nil
}

// add watches c.fd (caller holds c.io).
func (p *poller) add(c *client) error {
	p.mu.Lock()
	p.conns[c.id] = c
	p.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: c.id}
	return syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, c.fd, &ev)
}

// remove stops watching c.fd (caller holds c.io).
func (p *poller) remove(c *client) error {
	return syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, c.fd, nil)
}

func (p *poller) forget(c *client) {
	p.mu.Lock()
	delete(p.conns, c.id)
	p.mu.Unlock()
}

// run dispatches readable sockets until ctx ends.
func (p *poller) run(ctx context.Context) {
	rc, err := p.file.SyscallConn()
	if err != nil {
		panic(err)
	}
	go func() { <-ctx.Done(); _ = p.file.SetReadDeadline(time.Now()) }()
	events := make([]syscall.EpollEvent, 256)
	buf := make([]byte, 64<<10)
	var oob []byte
	if p.kernelClock {
		oob = make([]byte, 128)
	}
	var ready []*client
	for ctx.Err() == nil {
		n := 0
		var werr error
		rerr := rc.Read(func(fd uintptr) bool {
			n, werr = syscall.EpollWait(int(fd), events, 0)
			return n != 0 || (werr != nil && !errors.Is(werr, syscall.EINTR))
		})
		if rerr != nil || werr != nil || n <= 0 {
			continue
		}
		ready = ready[:0]
		p.mu.Lock()
		for _, ev := range events[:n] {
			if c := p.conns[ev.Fd]; c != nil {
				ready = append(ready, c)
			}
		}
		p.mu.Unlock()
		for _, c := range ready {
			c.readable(buf, oob)
		}
	}
}

// recvFD reads into b and returns the kernel's receive time of the data
// (SO_TIMESTAMPNS; 0 when absent) when oob is not nil.
func recvFD(fd int, b, oob []byte) (n int, rx int64, err error) {
	if oob == nil {
		n, err = readFD(fd, b)
		return n, 0, err
	}
	for {
		var oobn int
		n, oobn, _, _, err = syscall.Recvmsg(fd, b, oob, 0)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		return n, rxTimestamp(oob[:oobn]), err
	}
}

// rxTimestamp finds an SCM_TIMESTAMPNS control message (struct cmsghdr
// then struct timespec, 64-bit little-endian Linux) and returns it in Unix
// nanoseconds, or 0.
func rxTimestamp(oob []byte) int64 {
	const hdr = 16 // cmsg_len uint64, cmsg_level int32, cmsg_type int32
	for len(oob) >= hdr {
		l := int(binary.LittleEndian.Uint64(oob))
		level := int32(binary.LittleEndian.Uint32(oob[8:]))
		typ := int32(binary.LittleEndian.Uint32(oob[12:]))
		if l < hdr || l > len(oob) {
			return 0
		}
		if level == syscall.SOL_SOCKET && typ == syscall.SCM_TIMESTAMPNS && l >= hdr+16 {
			sec := int64(binary.LittleEndian.Uint64(oob[hdr:]))
			nsec := int64(binary.LittleEndian.Uint64(oob[hdr+8:]))
			return sec*1e9 + nsec
		}
		oob = oob[min((l+7)&^7, len(oob)):]
	}
	return 0
}

func readFD(fd int, b []byte) (int, error) {
	for {
		n, err := syscall.Read(fd, b)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		return n, err
	}
}

// writeFD writes all of b to a non-blocking socket, waiting briefly when
// its buffer is full.
func writeFD(fd int, b []byte) error {
	deadline := time.Now().Add(2 * time.Second)
	for len(b) > 0 {
		n, err := syscall.Write(fd, b)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EAGAIN):
			if time.Now().After(deadline) {
				return err
			}
			time.Sleep(time.Millisecond)
			continue
		case err != nil:
			return err
		}
		b = b[n:]
	}
	return nil
}
