package websocket

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/velocitykode/velocity/broadcast"
)

// ServePusher upgrades a request for {prefix}/app/{key} to the Pusher
// Channels protocol v7, so unmodified pusher-js and laravel-echo clients
// connect. The key is the last segment of the request path; an unknown key
// gets pusher:error 4001 and close code 4001. Origins are checked as for
// the native protocol (4009).
func (s *Server) ServePusher(w http.ResponseWriter, r *http.Request) {
	s.serve(w, r, &pusherProtocol{})
}

// PusherHandler returns ServePusher as an http.Handler.
func (s *Server) PusherHandler() http.Handler { return http.HandlerFunc(s.ServePusher) }

// handshakeChecker is implemented by protocols that check more of the
// upgrade request than the server does (the Pusher app key). serve calls
// it after its own checks; a refusal closes the new connection.
type handshakeChecker interface {
	checkHandshake(s *Server, r *http.Request) *ProtocolError
}

// closeCoder is implemented by protocols whose clients read close codes
// differently from the native table; conn uses it for every close frame.
type closeCoder interface {
	closeCode(code int) int
}

// closeCodeFor returns the close code p's clients should see for code.
func closeCodeFor(p protocol, code int) int {
	if cc, ok := p.(closeCoder); ok {
		return cc.closeCode(code)
	}
	return code
}

// pusherProtocol is the Pusher protocol of one connection. Its fields
// belong to the connection's read goroutine.
type pusherProtocol struct {
	userID   string // set by a successful pusher:signin
	userData string
}

// Codec index of the Pusher protocol in the server's hub.
func (*pusherProtocol) codec() int { return pusherCodecIndex }

func (*pusherProtocol) checkHandshake(s *Server, r *http.Request) *ProtocolError {
	key := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	if _, ok := s.pusherApp(key); !ok {
		return protoErr(4001, nil, "Application does not exist")
	}
	return nil
}

func (*pusherProtocol) closeCode(code int) int { return pusherCode(code) }

func (*pusherProtocol) connected(c *conn) []byte {
	return pusherConnected(c.id, int(c.srv.cfg.PingInterval.Seconds()))
}

func (*pusherProtocol) subscribed(channel string, members []broadcast.Member) []byte {
	return pusherSubscribed(channel, members)
}

func (*pusherProtocol) subscriptionError(channel string, e *ProtocolError) []byte {
	return pusherSubscriptionErrorFrame(channel, e)
}

func (*pusherProtocol) errorFrame(e *ProtocolError, _ string) []byte {
	return pusherErrorFrame(e)
}

// pusherInFrame is a client → server frame.
type pusherInFrame struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
}

// pusherSubscribeData is the data of pusher:subscribe and unsubscribe.
// channel_data is a JSON string from pusher-js; an object is taken as is.
type pusherSubscribeData struct {
	Channel     string          `json:"channel"`
	Auth        string          `json:"auth"`
	ChannelData json.RawMessage `json:"channel_data"`
}

func (p *pusherProtocol) handle(c *conn, data []byte) {
	var f pusherInFrame
	if err := json.Unmarshal(data, &f); err != nil || f.Event == "" {
		c.sendError(protoErr(CodeMalformedFrame, err, "Invalid message format"), "")
		return
	}
	switch {
	case f.Event == "pusher:ping":
		c.sendControl(pusherPongFrame)
	case f.Event == "pusher:pong":
		// The read already pushed the deadline back.
	case f.Event == "pusher:subscribe":
		d, perr := decodePusherSubscribe(f.Data)
		if perr != nil {
			c.sendError(perr, "")
			return
		}
		if isUserChannel(d.Channel) {
			p.subscribeUserChannel(c, d.Channel)
			return
		}
		c.srv.subscribe(c, subscribeData{Channel: d.Channel, Auth: d.Auth, ChannelData: rawString(d.ChannelData)})
	case f.Event == "pusher:unsubscribe":
		d, perr := decodePusherSubscribe(f.Data)
		if perr != nil {
			c.sendError(perr, "")
			return
		}
		c.srv.unsubscribe(c, d.Channel)
	case f.Event == "pusher:signin":
		p.signin(c, f.Data)
	case strings.HasPrefix(f.Event, broadcast.ClientEventPrefix):
		payload := f.Data
		if len(bytes.TrimSpace(payload)) == 0 {
			payload = []byte("null")
		}
		c.srv.clientEvent(c, f.Event, f.Channel, payload)
	default:
		c.sendError(protoErr(CodeUnknownType, nil, "unsupported event %q", truncate(f.Event)), "")
	}
}

// decodePusherSubscribe reads subscribe data given as an object or, as
// some clients do, as a JSON string holding the object.
func decodePusherSubscribe(raw json.RawMessage) (pusherSubscribeData, *ProtocolError) {
	var d pusherSubscribeData
	raw = json.RawMessage(rawString(raw))
	if err := json.Unmarshal(raw, &d); err != nil {
		return d, protoErr(CodeMalformedFrame, err, `data must be {"channel":...}`)
	}
	if d.Channel == "" {
		return d, protoErr(CodeMalformedFrame, nil, "no channel")
	}
	return d, nil
}

// rawString returns the content of a JSON string, or the raw JSON text of
// any other value ("" for none).
func rawString(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) > 0 && t[0] == '"' {
		var s string
		if json.Unmarshal(t, &s) == nil {
			return s
		}
	}
	if bytes.Equal(t, []byte("null")) {
		return ""
	}
	return string(t)
}
