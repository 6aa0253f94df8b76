package websocket

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/broadcast/signature"
	"github.com/velocitykode/velocity/internal/protocol"
)

// userChannelPrefix starts the internal channel through which the server
// reaches every connection signed in (pusher:signin) as one user:
// "#server-to-user-{id}". The '#' keeps it out of the names clients and
// Emit may use; only a connection signed in as id may join it.
const userChannelPrefix = "#server-to-user-"

// userChannel returns the internal channel of the user with id userID.
func userChannel(userID string) string { return userChannelPrefix + userID }

func isUserChannel(ch string) bool { return strings.HasPrefix(ch, userChannelPrefix) }

// validUserID reports whether id can name a user channel: the channel
// charset and length rules apply to the name after '#'.
func validUserID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty user id", broadcast.ErrInvalidChannel)
	}
	return broadcast.ValidateChannel(userChannel(id)[1:])
}

// pusherApp returns the app whose key clients connect with. One app is
// configured today (WithApp); looking it up by key leaves room for more.
func (s *Server) pusherApp(key string) (signature.App, bool) {
	if key != "" && key == s.app.Key {
		return s.app, true
	}
	return signature.App{}, false
}

// signin handles pusher:signin {"auth":"key:sig","user_data":"{...}"}:
// the signature (HMAC-SHA256 of "socket_id::user::user_data" with the app
// secret) binds user_data to this socket id, and user_data.id must be a
// non-empty string, as pusher-js requires. The connection then joins its
// user channel. A failure is a pusher:error 4009, or 4101 when the user
// has MaxConnectionsPerUser connections; the connection stays open.
func (c *client) signin(auth, userData string) {
	fail := func(err error, format string, args ...any) {
		c.sendError(protoErr(CodeUnauthorized, err, format, args...), "")
	}
	if err := signature.VerifyUserAuth(c.srv.app, auth, c.id, userData); err != nil {
		fail(err, "signin: invalid signature")
		return
	}
	var user struct {
		ID json.RawMessage `json:"id"`
	}
	var id string
	if err := json.Unmarshal([]byte(userData), &user); err != nil || json.Unmarshal(user.ID, &id) != nil || id == "" {
		fail(err, "signin: user_data must be a JSON object with a non-empty string id")
		return
	}
	if err := validUserID(id); err != nil {
		fail(err, "signin: user id %q cannot name a user channel", protocol.Truncate(id))
		return
	}
	if c.userID != "" && c.userID != id {
		fail(nil, "signin: connection already signed in as another user")
		return
	}
	if perr := c.srv.countUser(c, id); perr != nil {
		c.sendError(perr, "")
		return
	}
	c.userID, c.userData = id, userData
	if ss, ok := c.proto.codec.(interface{ SigninSuccess(string) []byte }); ok {
		c.SendControl(ss.SigninSuccess(userData))
	}
	if _, joined := c.subs[userChannel(id)]; !joined {
		c.srv.join(c, &subscription{channel: userChannel(id)}, func(perr *ProtocolError) { c.sendError(perr, "") })
	}
}

// subscribeUserChannel answers pusher-js's own subscribe to the user
// channel after sign-in; a connection not signed in as that user is
// refused.
func (c *client) subscribeUserChannel(ch string) {
	if c.userID == "" || ch != userChannel(c.userID) {
		c.SendControl(c.proto.SubscriptionError(ch, protoErr(CodeUnauthorized, nil, "sign in as this user first")))
		return
	}
	if _, joined := c.subs[ch]; joined {
		c.SendControl(c.proto.Subscribed(ch, nil))
		return
	}
	// The internal user channel bypasses the channel-name rules that keep
	// '#' away from clients.
	c.srv.join(c, &subscription{channel: ch}, func(perr *ProtocolError) {
		c.SendControl(c.proto.SubscriptionError(ch, perr))
	})
}

// PublishToUser sends an event to every connection signed in as userID,
// on every node (Pusher's sendToUser). data is the event's JSON payload.
func (s *Server) PublishToUser(ctx context.Context, userID, event string, data json.RawMessage) error {
	if err := validUserID(userID); err != nil {
		return err
	}
	if err := broadcast.ValidateEvent(event); err != nil {
		return err
	}
	return s.publish(ctx, broker.New(userChannel(userID), event, data))
}

// TerminateUserConnections closes, on every node, the connections signed
// in as userID, with pusher:error and close code 4009 (pusher-js does not
// reconnect). Connections that never signed in are not affected.
func (s *Server) TerminateUserConnections(ctx context.Context, userID string) error {
	if err := validUserID(userID); err != nil {
		return err
	}
	return s.publish(ctx, broker.New(userChannel(userID), broker.EventTerminate, nil))
}

// terminateLocal closes this node's connections on the user channels of m.
func (s *Server) terminateLocal(m *broker.Envelope) {
	e := protoErr(CodeUnauthorized, nil, "connection terminated by the server")
	for _, ch := range m.Channels {
		for _, id := range s.hub.SocketIDs(ch) {
			if c := s.sockets.get(id); c != nil {
				c.closeWithError(e, e.Message, true)
			}
		}
	}
}
