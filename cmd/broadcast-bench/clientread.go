//go:build linux

package main

import (
	"errors"
	"syscall"
)

// readable is called by the poller when the socket has data.
func (c *client) readable(buf, oob []byte) {
	c.io.Lock()
	if c.fd < 0 || c.paused {
		c.io.Unlock()
		return
	}
	n, rx, err := recvFD(c.fd, buf, oob)
	c.rxTime = rx
	if errors.Is(err, syscall.EAGAIN) {
		c.io.Unlock()
		return
	}
	if err == nil && n == 0 {
		err = errors.New("EOF")
	}
	if err == nil {
		err = c.consume(buf[:n])
	}
	c.io.Unlock()
	if err != nil {
		c.shutdown(0, err)
	}
}

// consume parses the frames in c.in followed by data (caller holds io or
// owns the handshake) and keeps an incomplete tail in c.in.
func (c *client) consume(data []byte) error {
	b := data
	if len(c.in) > 0 {
		c.in = append(c.in, data...)
		b = c.in
	}
	off := 0
	var err error
	for err == nil {
		op, fin, payload, n, perr := parseFrame(b[off:])
		if perr != nil {
			err = perr
			break
		}
		if n == 0 {
			break
		}
		off += n
		err = c.frame(op, fin, payload)
	}
	rest := b[off:]
	if len(c.in) > 0 {
		c.in = c.in[:copy(c.in, rest)]
	} else {
		c.in = append(c.in, rest...)
	}
	return err
}

func (c *client) frame(op byte, fin bool, payload []byte) error {
	switch op {
	case opText, opCont:
		if fin && len(c.frag) == 0 {
			c.r.ad.Decode(payload, c.onFrame)
			return nil
		}
		c.frag = append(c.frag, payload...)
		if fin {
			c.r.ad.Decode(c.frag, c.onFrame)
			c.frag = c.frag[:0]
		}
	case opPing:
		return c.write(opPong, payload)
	case opClose:
		c.mu.Lock()
		c.closeCode = closeCode(payload)
		c.mu.Unlock()
		return errClosedByServer
	}
	return nil
}

// write sends one masked frame, on the handshake connection or the fd.
func (c *client) write(op byte, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = appendClientFrame(c.wbuf[:0], op, payload)
	if c.nc != nil {
		_, err := c.nc.Write(c.wbuf)
		return err
	}
	if c.fd < 0 {
		return errors.New("closed")
	}
	return writeFD(c.fd, c.wbuf)
}
