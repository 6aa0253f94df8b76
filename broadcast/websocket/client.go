package websocket

import (
	"context"
	"log/slog"
	"sync"

	"github.com/velocitykode/velocity/internal/protocol"
	"github.com/velocitykode/velocity/internal/transport"
)

// client is one connection as the server sees it: its transport, the
// protocol it speaks and its session. It is the hub's subscriber and the
// transport's handler.
type client struct {
	transport.Conn
	srv   *Server
	id    string
	proto *wireProtocol

	mu     sync.Mutex
	ident  Identity // who the connection speaks for
	expiry Timer    // closes the connection when ident expires
	// countedUser is the user c counts toward in MaxConnectionsPerUser
	// ("": none; see Server.countUser).
	countedUser string

	// ctx ends when the read loop does (or the server stops hard); the
	// remote steps of c's joins run under it.
	ctx    context.Context
	cancel context.CancelFunc
	in     inbox

	// owned by whoever handles c's frames: the read goroutine, or the
	// worker while one is busy (see inbox)
	inWorker     bool
	subs         map[string]*subscription
	limits       clientEventLimiter
	historyLimit clientEventLimiter
	recoverLimit clientEventLimiter
	userID       string // set by a successful Pusher sign-in
	userData     string

	opened bool // identified and welcomed: ConnectionClosed is reported
}

// SocketID implements hub.Subscriber.
func (c *client) SocketID() string { return c.id }

// Codec implements hub.Subscriber.
func (c *client) Codec() int { return c.proto.index }

// HandleText implements transport.Handler: one client frame, handled
// now or, while a worker is busy with remote work, after it.
func (c *client) HandleText(data []byte) {
	if !c.queue(data) {
		c.handle(data)
	}
}

// handle handles one client frame.
func (c *client) handle(data []byte) {
	cmd, perr := c.proto.Parse(data)
	if perr != nil {
		c.sendError(perr, "")
		return
	}
	s := c.srv
	switch cmd.Op {
	case protocol.OpSubscribe:
		if c.proto.signin && isUserChannel(cmd.Channel) {
			c.subscribeUserChannel(cmd.Channel)
			return
		}
		s.subscribe(c, cmd)
	case protocol.OpUnsubscribe:
		s.unsubscribe(c, cmd.Channel)
	case protocol.OpPing:
		c.SendControl(c.proto.Pong())
	case protocol.OpPong:
		// The read already pushed the deadline back.
	case protocol.OpRefresh:
		s.refresh(c, cmd.Token)
	case protocol.OpClientEvent:
		s.clientEvent(c, cmd.Event, cmd.Channel, cmd.Data)
	case protocol.OpHistory:
		s.historyRequest(c, cmd)
	case protocol.OpSignin:
		if c.proto.signin {
			c.signin(cmd.Auth, cmd.UserData)
			return
		}
		c.sendError(protoErr(CodeUnknownType, nil, "sign-in is not part of this protocol"), "")
	}
}

// HandleBinary implements transport.Handler.
func (c *client) HandleBinary() {
	c.sendError(protoErr(CodeBinaryFrame, nil, "binary frames are not supported"), "")
}

// ReadEnded implements transport.Handler: the connection leaves every
// channel, now or when the busy worker is done.
func (c *client) ReadEnded() {
	c.cancel()
	if c.readEnded() {
		c.cleanup()
	}
}

// cleanup stops the expiry timer and leaves every channel.
func (c *client) cleanup() {
	c.mu.Lock()
	if c.expiry != nil {
		c.expiry.Stop()
	}
	c.mu.Unlock()
	c.srv.leaveAll(c)
}

// CloseCode implements transport.Handler.
func (c *client) CloseCode(code int) int { return c.proto.CloseCode(code) }

// Released implements transport.Handler.
func (c *client) Released() {
	if c.releasable() {
		c.srv.release(c)
	}
}

// sendError queues an error frame for a non-fatal problem.
func (c *client) sendError(e *ProtocolError, channel string) {
	c.srv.debugClient(c, "websocket: client request refused", e, channel)
	c.SendControl(c.proto.Error(e, channel))
}

// closeWithError queues an error frame and closes with its code.
func (c *client) closeWithError(e *ProtocolError, reason string, flush bool) {
	c.Close(e.Code, reason, c.proto.Error(e, ""), flush)
}

// identity returns who the connection speaks for.
func (c *client) identity() Identity {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ident
}

// setIdentity records the connection's credential and (re)arms the timer
// that closes the connection with 4407 when it expires.
func (c *client) setIdentity(id Identity) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ident = id
	if c.expiry != nil {
		c.expiry.Stop()
		c.expiry = nil
	}
	if id.Expires.IsZero() || c.Closing() {
		return
	}
	clock := c.srv.clock
	c.expiry = clock.AfterFunc(id.Expires.Sub(clock.Now()), func() {
		c.closeWithError(protoErr(CodeTokenExpired, nil, "token expired; reconnect or send a refresh frame before expiry"), "token expired", true)
	})
}

// debugClient logs, at debug level, what a client was refused: a
// client's mistakes (or an attack) are not the operator's problem, and
// the server's logger limits floods.
func (s *Server) debugClient(c *client, msg string, e *ProtocolError, channel string) {
	if !s.logger.Enabled(c.ctx, slog.LevelDebug) {
		return
	}
	attrs := []any{"socket_id", c.id, "code", e.Code, "reason", e.Message}
	if channel != "" {
		attrs = append(attrs, "channel", channel)
	}
	if c.userID != "" {
		attrs = append(attrs, "user_id", c.userID)
	}
	s.logger.Debug(msg, attrs...)
}
