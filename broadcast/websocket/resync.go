package websocket

import (
	"math/rand/v2"
	"time"

	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/internal/protocol"
)

// CodeResync (4202) closes a connection whose node lost its broker
// subscription to one of the connection's channels for a while: messages
// published meanwhile may never have reached the node. The client should
// reconnect at once, resubscribe, and refetch the state its channels
// carry. The native JS client and pusher-js both reconnect and
// resubscribe on it (Pusher's 4200–4299: reconnect immediately).
const CodeResync = protocol.CodeResync

// ResyncWindow bounds the spread of a resync: each affected connection is
// closed at a random moment within it, so that a node does not send all
// its clients back in the same instant.
const ResyncWindow = 1500 * time.Millisecond

// resyncMessage is the message of the error frame sent before the close.
const resyncMessage = "messages may have been missed during a broker interruption; reconnect and resubscribe"

// resyncLocal handles broker.EventResync: the local subscribers of m's
// channels may have missed messages. A channel with history is filled
// from its stream (see sequence.go); the subscribers of the others are
// each closed with CodeResync at a jittered moment within ResyncWindow. A
// connection on several of the channels is closed once.
func (s *Server) resyncLocal(m *broker.Envelope) {
	var ids []string
	for _, ch := range m.Channels {
		if !s.resyncFill(ch) {
			ids = append(ids, s.hub.SocketIDs(ch)...)
		}
	}
	s.closeForResync(ids)
}

// closeForResync closes the local connections of ids with CodeResync, each
// at a jittered moment within ResyncWindow.
func (s *Server) closeForResync(ids []string) {
	affected := make(map[*client]struct{})
	for _, id := range ids {
		if c := s.sockets.get(id); c != nil {
			affected[c] = struct{}{}
		}
	}
	if len(affected) == 0 {
		return
	}
	s.logger.Warn("websocket: messages may have been missed; closing affected connections so they resubscribe",
		"connections", len(affected), "window", ResyncWindow, "code", CodeResync)
	e := protoErr(CodeResync, nil, resyncMessage)
	for c := range affected {
		// The timer's goroutine exists only once it fires; Close is a
		// no-op on a connection already closing (Shutdown).
		time.AfterFunc(rand.N(ResyncWindow), func() { c.closeWithError(e, "resync", true) })
	}
}
