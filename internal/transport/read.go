package transport

import (
	"errors"
	"io"
	"net"
	"strings"
	"time"
	"unicode/utf8"

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

// readLoop reads frames until the socket fails, then cleans up.
func (c *Conn) readLoop() {
	defer c.finishRead()
	cfg := &c.pool.cfg
	c.ws.SetReadLimit(cfg.MaxMessageSize)
	extend := func() { _ = c.nc.SetReadDeadline(time.Now().Add(cfg.ReadTimeout)) }
	extend()
	c.ws.SetPongHandler(func(string) error { extend(); return nil })
	c.ws.SetPingHandler(func(data string) error {
		extend()
		c.SendControl(wsframe.Control(wsframe.OpPong, []byte(data)))
		return nil
	})
	c.ws.SetCloseHandler(func(code int, _ string) error {
		if code == websocket.CloseNoStatusReceived {
			code = websocket.CloseNormalClosure
		}
		c.Close(code, "", nil, false)
		return nil
	})
	var limit inboundLimiter
	for {
		// Over the rate, the client is read more slowly: its frames wait
		// in its own socket buffers and nobody else pays for them.
		if wait := limit.take(cfg.InboundRate, time.Now()); wait > 0 {
			time.Sleep(wait)
		}
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			c.readFailed(err)
			return
		}
		extend()
		if mt != websocket.TextMessage {
			c.h.HandleBinary()
			continue
		}
		if !utf8.Valid(data) {
			// RFC 6455 §8.1: fail the connection. Nothing of it is
			// handled, so nothing of it is relayed.
			c.Close(protocol.CloseInvalidPayload, "invalid UTF-8", nil, false)
			return
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
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		c.Close(protocol.CodePongTimeout, "no activity within read timeout", nil, false)
	case errors.Is(err, websocket.ErrReadLimit):
		c.Close(protocol.CloseMessageTooLarge, "message too large", nil, false)
	case isProtocolError(err):
		c.Close(protocol.CloseProtocolError, "protocol error", nil, false)
	default:
		c.Close(protocol.CloseNormal, "", nil, false)
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
