package websocket

import "github.com/velocitykode/velocity/internal/protocol"

// Error and close codes. 4000–4399 are shared with the Pusher protocol;
// 4400–4599 are native-only (Pusher clients get the Pusher code they act
// on instead).
const (
	CodeUnauthorized     = protocol.CodeUnauthorized     // 4009 subscription refused, origin not allowed, bad token
	CodeOverCapacity     = protocol.CodeOverCapacity     // 4100 too many connections; retry after backoff
	CodeUserOverCapacity = protocol.CodeUserOverCapacity // 4101 the user has MaxConnectionsPerUser connections; retry after backoff
	CodeShutdown         = protocol.CodeShutdown         // 4200 server shutting down; reconnect
	CodePongTimeout      = protocol.CodePongTimeout      // 4201 nothing received within ReadTimeout
	CodeRateLimited      = protocol.CodeRateLimited      // 4301 client events over the per-connection rate
	CodeMalformedFrame   = protocol.CodeMalformedFrame   // 4400 not a JSON object, or a field of the wrong type
	CodeUnknownType      = protocol.CodeUnknownType      // 4401 unknown "type"
	CodeBinaryFrame      = protocol.CodeBinaryFrame      // 4402 binary frames are not part of the protocol
	CodeInvalidChannel   = protocol.CodeInvalidChannel   // 4403 channel name breaks the naming rules
	CodeAlreadyJoined    = protocol.CodeAlreadyJoined    // 4404 subscribe to a channel already subscribed
	CodeNotSubscribed    = protocol.CodeNotSubscribed    // 4405 unsubscribe or client event on a channel not joined
	CodeClientEvent      = protocol.CodeClientEvent      // 4406 client event refused (public channel, disabled, too big)
	CodeTokenExpired     = protocol.CodeTokenExpired     // 4407 the connection's JWT expired
	CodeSlowConsumer     = protocol.CodeSlowConsumer     // 4408 outbound queue overflowed; the connection is closed
	CodeTooManyChannels  = protocol.CodeTooManyChannels  // 4409 subscriptions of this connection at MaxSubscriptions
	CodeMemberTooLarge   = protocol.CodeMemberTooLarge   // 4410 presence user_info over MaxUserInfoBytes
	CodePresenceFull     = protocol.CodePresenceFull     // 4411 presence channel at MaxPresenceMembers members
	CodeInternal         = protocol.CodeInternal         // 4500 the server failed (for example the broker is unreachable)
	CloseInvalidPayload  = protocol.CloseInvalidPayload  // 1007 a text frame that is not valid UTF-8 (RFC 6455)
	CloseMessageTooLarge = protocol.CloseMessageTooLarge // 1009 a frame over MaxMessageSize (RFC 6455)
)

// ProtocolError is an error with a wire code, sent to the client in an
// error or subscription_error frame.
type ProtocolError = protocol.Error

func protoErr(code int, err error, format string, args ...any) *ProtocolError {
	return protocol.Errorf(code, err, format, args...)
}
