// Package protocol holds what the wire codecs share: the error and close
// codes, the error type that carries one, and the command a client frame
// decodes to. The codecs themselves live in the native and pusher
// subpackages; they are pure functions of bytes, with no connection.
package protocol

import (
	"encoding/json"
	"fmt"
)

// Error and close codes. 4000–4399 are shared with the Pusher protocol;
// 4400–4599 are native-only (a Pusher client gets the Pusher code it acts
// on instead; see pusher.Code).
const (
	CodeUnauthorized     = 4009 // subscription refused, origin not allowed, bad token
	CodeOverCapacity     = 4100 // too many connections; retry after backoff
	CodeUserOverCapacity = 4101 // too many connections of this user; retry after backoff
	CodeShutdown         = 4200 // server shutting down; reconnect
	CodePongTimeout      = 4201 // nothing received within ReadTimeout
	CodeResync           = 4202 // the node's broker subscription was interrupted; reconnect now and resubscribe
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
	CodeTooManyChannels  = 4409 // subscriptions of this connection at Config.MaxSubscriptions
	CodeMemberTooLarge   = 4410 // presence user_info over Config.MaxUserInfoBytes
	CodePresenceFull     = 4411 // presence channel at Config.MaxPresenceMembers members
	CodeNoHistory        = 4412 // history request on a channel without history
	CodeInternal         = 4500 // the server failed (for example the broker is unreachable)
	CloseNormal          = 1000 // normal closure (RFC 6455)
	CloseProtocolError   = 1002 // a frame that breaks RFC 6455
	CloseInvalidPayload  = 1007 // a text frame that is not valid UTF-8 (RFC 6455)
	CloseMessageTooLarge = 1009 // a frame over MaxMessageSize (RFC 6455)
)

// Error is an error with a wire code, sent to the client in an error or
// subscription_error frame.
type Error struct {
	Code    int
	Message string
	Err     error // cause, if any
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with code, cause err (may be nil) and a
// formatted message.
func Errorf(code int, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// Op is what a client frame asks for.
type Op uint8

// Client operations.
const (
	OpSubscribe   Op = iota + 1 // Channel, Auth, ChannelData
	OpUnsubscribe               // Channel
	OpPing                      // answered with the codec's pong
	OpPong                      // nothing to do: the read already counted as activity
	OpRefresh                   // Token
	OpClientEvent               // Event, Channel, Data
	OpSignin                    // Auth, UserData
	OpHistory                   // Channel, Limit (native only)
)

// MaxEpochLength bounds the epoch a client may send in a since.
const MaxEpochLength = 64

// Position is a stream position as a client sends it in a since.
type Position struct {
	Offset uint64
	Epoch  string
}

// Stream is what a subscription acknowledgement says of the channel's
// stream: its position when the channel has history, and whether a
// subscribe with a since recovered what was missed.
type Stream struct {
	History   bool     // the channel has history: Position is set
	Position  Position // the channel's position at subscription
	Recovery  bool     // the subscribe had a since: Recovered is set
	Recovered bool     // every publication after the since was replayed
}

// Command is one decoded client frame.
type Command struct {
	Op          Op
	Channel     string
	Auth        string
	ChannelData string
	Token       string
	UserData    string
	// Event is a client event's name ("client-…").
	Event string
	// Data is a client event's payload, "null" when the frame had none.
	Data json.RawMessage
	// Since is a subscribe's recovery position (nil: none).
	Since *Position
	// Limit is a history request's limit (0: every retained publication).
	Limit int
}

// Truncate shortens s for an error message.
func Truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
