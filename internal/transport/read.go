package transport

import (
	"errors"
	"net"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitykode/velocity/internal/protocol"
	"github.com/velocitykode/velocity/internal/wsframe"
)

// Serve starts the connection: pings every PingInterval and a read
// goroutine that hands frames to the handler until the socket fails, then
// cleans up. Call it once, after queuing the connection's first frames.
func (c *Conn) Serve() {
	c.schedulePing()
	go c.readLoop()
}

// readLoop reads frames until the socket fails, then cleans up. Frames
// are read here, not by gorilla, which only did the handshake: gorilla
// lets through a close frame with a 1-byte payload (as if it had none)
// and answers a close reason that is not UTF-8 with 1002 instead of 1007.
func (c *Conn) readLoop() {
	defer c.finishRead()
	cfg := &c.pool.cfg
	extend := func() { _ = c.nc.SetReadDeadline(time.Now().Add(cfg.ReadTimeout)) }
	extend()
	ir := &inReader{r: c.nc, limit: cfg.MaxMessageSize, control: func(op byte, code int, p []byte) error {
		extend()
		switch op {
		case opPing:
			c.SendControl(wsframe.Control(wsframe.OpPong, p))
		case opClose:
			// RFC 6455 §5.5.1: answer with the code received; a close
			// without one is answered with 1000.
			if code == websocket.CloseNoStatusReceived {
				code = websocket.CloseNormalClosure
			}
			c.Close(code, "", nil, false)
			return errPeerClosed
		}
		return nil
	}}
	var limit inboundLimiter
	for {
		// Over the rate, the client is read more slowly: its frames wait
		// in its own socket buffers and nobody else pays for them.
		if wait := limit.take(cfg.InboundRate, time.Now()); wait > 0 {
			time.Sleep(wait)
		}
		text, data, err := ir.next()
		if err != nil {
			c.readFailed(err)
			return
		}
		extend()
		if !text {
			c.h.HandleBinary()
			continue
		}
		c.handleOffStack(data)
	}
}

// handleOffStack runs the handler on a short-lived goroutine and waits
// for it. Handling (JSON decoding, authorization, presence) needs a deep
// stack; the read loop, which lives as long as the connection, keeps a
// small one, so an idle connection costs less memory. Frames are still
// handled one at a time, in order.
func (c *Conn) handleOffStack(data []byte) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.h.HandleText(data)
	}()
	<-done
}

func (c *Conn) readFailed(err error) {
	var ne net.Error
	var fe *frameError
	switch {
	case errors.As(err, &fe):
		// RFC 6455 §7.1.7: fail the connection. Nothing of the frame is
		// handled, so nothing of it is relayed.
		c.Close(fe.code, fe.reason, nil, false)
	case errors.As(err, &ne) && ne.Timeout():
		c.Close(protocol.CodePongTimeout, "no activity within read timeout", nil, false)
	default: // closed by the client, or the socket failed
		c.Close(protocol.CloseNormal, "", nil, false)
	}
}

// finishRead runs when the read loop ends: it tells the handler, then lets
// the writer flush the close frame and release the connection.
func (c *Conn) finishRead() {
	c.Close(protocol.CloseNormal, "", nil, false)
	c.h.ReadEnded()
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

// inboundLimiter is a token bucket of rate frames per second with a burst
// of twice that; it belongs to one read goroutine.
type inboundLimiter struct {
	tokens float64
	last   time.Time
}

// take spends a token and returns how long to wait first (0 when one was
// available).
func (l *inboundLimiter) take(rate int, now time.Time) time.Duration {
	if rate <= 0 {
		return 0
	}
	burst := float64(2 * rate)
	if l.last.IsZero() {
		l.tokens, l.last = burst, now
	}
	l.tokens = min(burst, l.tokens+now.Sub(l.last).Seconds()*float64(rate))
	l.last = now
	l.tokens--
	if l.tokens >= 0 {
		return 0
	}
	return time.Duration(-l.tokens / float64(rate) * float64(time.Second))
}
