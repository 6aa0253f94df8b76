package websocket

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/signature"
	"github.com/velocitykode/velocity/internal/protocol"
)

// Identity is who a connection or a subscription token speaks for.
type Identity struct {
	// User is the application's user value (nil: anonymous).
	User any
	// Expires is when the credential expires (zero: never). A connection
	// whose credential expires is closed with code 4407 unless the client
	// sent a fresher token in a refresh frame first.
	Expires time.Time
}

// WithApp sets the app whose secret verifies "key:signature" subscription
// auth issued by POST /broadcasting/auth.
func WithApp(app signature.App) Option { return func(s *Server) { s.app = app } }

// WithTokenVerifier sets the function that verifies a JWT given in a
// subscribe frame's auth field or in a refresh frame.
func WithTokenVerifier(fn func(token string) (Identity, error)) Option {
	return func(s *Server) { s.verifyToken = fn }
}

// subscriptionUser resolves the user behind a subscribe request, from the
// three auth forms of the protocol. signed is true for a valid
// key:signature, which /broadcasting/auth issued after authorizing.
func (s *Server) subscriptionUser(c *client, req protocol.Command) (user any, signed bool, perr *ProtocolError) {
	switch auth := req.Auth; {
	case auth == "":
		return c.identity().User, false, nil
	case strings.Contains(auth, ":"):
		if s.app.Secret == "" {
			return nil, false, protoErr(CodeUnauthorized, nil, "signature auth is not configured")
		}
		if err := signature.VerifyChannelAuth(s.app, auth, c.id, req.Channel, req.ChannelData); err != nil {
			return nil, false, protoErr(CodeUnauthorized, err, "invalid auth signature")
		}
		return nil, true, nil
	default:
		if s.verifyToken == nil {
			return nil, false, protoErr(CodeUnauthorized, nil, "token auth is not configured")
		}
		id, err := s.verifyToken(auth)
		if err != nil {
			return nil, false, protoErr(CodeUnauthorized, err, "invalid token: %v", err)
		}
		return id.User, false, nil
	}
}

// memberFromChannelData parses the channel_data signed by the auth
// endpoint: {"user_id": string or number, "user_info": any}.
func memberFromChannelData(data string) (*broadcast.Member, *ProtocolError) {
	var raw struct {
		UserID   json.RawMessage `json:"user_id"`
		UserInfo json.RawMessage `json:"user_info"`
	}
	if err := json.Unmarshal([]byte(data), &raw); err != nil {
		return nil, protoErr(CodeUnauthorized, err, "presence: channel_data must be a JSON object")
	}
	// A string or a number, decoded as JSON (a string may hold escapes).
	var id string
	if err := json.Unmarshal(raw.UserID, &id); err != nil {
		var n json.Number
		if json.Unmarshal(raw.UserID, &n) == nil {
			id = n.String()
		}
	}
	if id == "" {
		return nil, protoErr(CodeUnauthorized, nil, "presence: channel_data needs a user_id string or number")
	}
	m := &broadcast.Member{UserID: id}
	if len(raw.UserInfo) > 0 && !bytes.Equal(raw.UserInfo, []byte("null")) {
		m.UserInfo = raw.UserInfo
	}
	return m, nil
}

// refresh handles a refresh frame: a fresher token for the same user
// pushes the connection's expiry back. An anonymous connection becomes
// the token's user, unless that user is at MaxConnectionsPerUser (4101).
func (s *Server) refresh(c *client, token string) {
	if s.verifyToken == nil {
		c.sendError(protoErr(CodeUnauthorized, nil, "token auth is not configured"), "")
		return
	}
	id, err := s.verifyToken(token)
	if err != nil {
		c.sendError(protoErr(CodeUnauthorized, err, "refresh: invalid token: %v", err), "")
		return
	}
	cur := c.identity()
	if cur.User != nil && broadcast.UserID(cur.User) != broadcast.UserID(id.User) {
		c.sendError(protoErr(CodeUnauthorized, nil, "refresh: token is for another user"), "")
		return
	}
	if perr := s.countUser(c, broadcast.UserID(id.User)); perr != nil {
		c.sendError(perr, "")
		return
	}
	c.setIdentity(id)
	if r, ok := c.proto.codec.(interface{ Refreshed(time.Time) []byte }); ok {
		c.SendControl(r.Refreshed(id.Expires))
	}
}

// authorize checks a private or presence subscription for user, running
// the app's hooks outside every lock.
func (s *Server) authorize(ctx context.Context, channel string, user any) (*broadcast.Member, error) {
	b := s.authorizer()
	if b == nil {
		b = noHooks
	}
	if err := b.AuthorizeChannel(ctx, channel, user); err != nil {
		return nil, err
	}
	if broadcast.KindOf(channel) != broadcast.KindPresence {
		return nil, nil
	}
	m, err := b.PresenceMember(ctx, channel, user)
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// noHooks decides for a server no broadcaster was bound to: public
// channels only.
var noHooks = broadcast.New(nil)
