package websocket

import (
	"bytes"
	"strings"

	"github.com/velocitykode/velocity/broadcast"
)

// protocol is a wire protocol spoken on a connection: it turns client
// frames into session calls and session results into frames.
type protocol interface {
	codec() int
	connected(c *conn) []byte
	handle(c *conn, data []byte)
	subscribed(channel string, members []broadcast.Member) []byte
	subscriptionError(channel string, e *ProtocolError) []byte
	errorFrame(e *ProtocolError, channel string) []byte
}

// Codec indexes in the server's hub.
const (
	nativeCodecIndex = 0
	pusherCodecIndex = 1
)

// nativeProtocol is the JSON protocol of the seed's JavaScript example.
type nativeProtocol struct{}

func (nativeProtocol) codec() int { return nativeCodecIndex }

func (nativeProtocol) connected(c *conn) []byte {
	return nativeConnected(c.id, int(c.srv.cfg.PingInterval.Seconds()))
}

func (nativeProtocol) subscribed(channel string, members []broadcast.Member) []byte {
	return nativeSubscribed(channel, members)
}

func (nativeProtocol) subscriptionError(channel string, e *ProtocolError) []byte {
	return nativeSubscriptionError(channel, e)
}

func (nativeProtocol) errorFrame(e *ProtocolError, channel string) []byte {
	return nativeError(e, channel)
}

func (nativeProtocol) handle(c *conn, data []byte) {
	f, perr := parseNativeFrame(data)
	if perr != nil {
		c.sendError(perr, "")
		return
	}
	switch {
	case f.Type == "subscribe":
		req, perr := f.subscription()
		if perr != nil {
			c.sendError(perr, "")
			return
		}
		c.srv.subscribe(c, req)
	case f.Type == "unsubscribe":
		req, perr := f.subscription()
		if perr != nil {
			c.sendError(perr, "")
			return
		}
		c.srv.unsubscribe(c, req.Channel)
	case f.Type == "refresh":
		c.srv.refresh(c, f.Data)
	case f.Type == "ping":
		c.sendControl(nativePong)
	case strings.HasPrefix(f.Type, broadcast.ClientEventPrefix):
		payload := f.Data
		if len(bytes.TrimSpace(payload)) == 0 {
			payload = []byte("null")
		}
		c.srv.clientEvent(c, f.Type, f.Channel, payload)
	default:
		c.sendError(protoErr(CodeUnknownType, nil, "unknown message type %q", truncate(f.Type)), "")
	}
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
