package websocket

import (
	"net/http"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/internal/hub"
	"github.com/velocitykode/velocity/internal/protocol"
	"github.com/velocitykode/velocity/internal/protocol/native"
	"github.com/velocitykode/velocity/internal/protocol/pusher"
)

// codec is what the server needs of a wire protocol: its event frames
// (hub.Codec), its parser and its control frames. Codecs are pure; the
// server keeps every connection's state.
type codec interface {
	hub.Codec
	Name() string
	Parse(frame []byte) (protocol.Command, *protocol.Error)
	Connected(socketID string, activityTimeout int) []byte
	Subscribed(channel string, members []broadcast.Member) []byte
	SubscribedStream(channel string, members []broadcast.Member, st protocol.Stream) []byte
	SubscriptionError(channel string, e *protocol.Error) []byte
	CacheMiss(channel string) []byte
	Error(e *protocol.Error, channel string) []byte
	Pong() []byte
	CloseCode(code int) int
}

// wireProtocol is a protocol registered with the server.
type wireProtocol struct {
	codec
	// index is the codec's position in the hub, assigned at registration.
	index int
	// handshake checks what the protocol needs of the upgrade request
	// beyond the server's own checks (nil: nothing).
	handshake func(s *Server, r *http.Request) *ProtocolError
	// signin is set when the protocol has Pusher's user sign-in (and so
	// the internal user channels).
	signin bool
}

// registerProtocols lists the server's protocols and builds the hub over
// their codecs, in registration order.
func (s *Server) registerProtocols() {
	s.native = s.register(&wireProtocol{codec: native.Codec{}})
	s.pusher = s.register(&wireProtocol{codec: pusher.Codec{}, handshake: checkPusherKey, signin: true})
	codecs := make([]hub.Codec, len(s.protocols))
	for i, p := range s.protocols {
		codecs[i] = p.codec
	}
	s.hub = hub.New(codecs...)
}

func (s *Server) register(p *wireProtocol) *wireProtocol {
	p.index = len(s.protocols)
	s.protocols = append(s.protocols, p)
	return p
}
