package websocket

import "fmt"

// Error and close codes. 4000–4399 are shared with the Pusher protocol;
// 4400–4499 are native-only.
const (
	CodeUnauthorized     = 4009 // subscription refused, origin not allowed, bad token
	CodeOverCapacity     = 4100 // too many connections; retry after backoff
	CodeShutdown         = 4200 // server shutting down; reconnect
	CodePongTimeout      = 4201 // nothing received within ReadTimeout
	CodeRateLimited      = 4301 // client events over the per-connection rate
	CodeMalformedFrame   = 4400 // not a JSON object, or a field of the wrong type
	CodeUnknownType      = 4401 // unknown "type"
	CodeBinaryFrame      = 4402 // binary frames are not part of the protocol
	CodeInvalidChannel   = 4403 // channel name breaks the naming rules
	CodeAlreadyJoined    = 4404 // subscribe to a channel already subscribed
	CodeNotSubscribed    = 4405 // unsubscribe or client event on a channel not joined
	CodeClientEvent      = 4406 // client event refused (public channel, disabled, too big)
	CodeTokenExpired     = 4407 // the connection's JWT expired; private/presence subscriptions ended
	CodeSlowConsumer     = 4408 // outbound queue overflowed; the connection is closed
	CodeInternal         = 4500 // the server failed (for example the broker is unreachable)
	CloseMessageTooLarge = 1009 // a frame over MaxMessageSize (RFC 6455)
)

// ProtocolError is an error with a wire code, sent to the client in an
// error or subscription_error frame.
type ProtocolError struct {
	Code    int
	Message string
	Err     error // cause, if any
}

func (e *ProtocolError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *ProtocolError) Unwrap() error { return e.Err }

func protoErr(code int, err error, format string, args ...any) *ProtocolError {
	return &ProtocolError{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}
