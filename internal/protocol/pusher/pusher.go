// Package pusher is the codec of the Pusher Channels protocol v7, as
// pusher-js 8 and laravel-echo 2 speak it: client frames into protocol
// commands, messages into complete WebSocket frames, and the native error
// codes into the Pusher codes its clients act on. It holds no connection
// state.
package pusher

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/internal/protocol"
	"github.com/velocitykode/velocity/internal/wsframe"
)

// Pusher event names the server sends.
const (
	pusherConnectionEstablished = "pusher:connection_established"
	pusherError                 = "pusher:error"
	pusherPong                  = "pusher:pong"
	pusherSubscriptionError     = "pusher:subscription_error"
	pusherSigninSuccess         = "pusher:signin_success"
	pusherSubscriptionSucceeded = "pusher_internal:subscription_succeeded"
	pusherMemberAdded           = "pusher_internal:member_added"
	pusherMemberRemoved         = "pusher_internal:member_removed"
)

// Codec is the Pusher protocol v7. The zero value is ready. Events are
// encoded as
// {"event":EVENT,"channel":CHANNEL,"data":STRING[,"user_id":ID]}.
//
// The data of server events is a JSON document serialized into a string
// (pusher-js parses it back). A Message whose Data is itself a JSON string
// is sent as that string, so a Pusher HTTP API publish of a non-JSON string
// reaches Pusher clients byte for byte; any other Data is sent as its JSON
// text. Presence member events become pusher_internal:member_added and
// member_removed with the member JSON as the string. Client events
// (whispers) are relayed with their data as the sender wrote it, plus
// user_id on presence channels.
type Codec struct{}

// Name returns "pusher".
func (Codec) Name() string { return "pusher" }

// EncodeEvent builds the complete text frame of an event in one
// allocation.
func (Codec) EncodeEvent(channel string, m *broker.Envelope) []byte {
	event, raw := m.Event, false
	switch {
	case event == broker.EventMemberAdded:
		event = pusherMemberAdded
	case event == broker.EventMemberRemoved:
		event = pusherMemberRemoved
	case strings.HasPrefix(event, broadcast.ClientEventPrefix):
		raw = true
	}
	// Room for the escaped data: JSON text mostly needs one backslash per
	// quote; append grows the buffer when it needs more.
	size := 48 + len(event) + len(channel) + len(m.Data)*5/4 + len(m.UserID)
	buf := wsframe.NewBuf(size)
	buf = append(buf, `{"event":`...)
	buf = wsframe.AppendJSONString(buf, event)
	buf = append(buf, `,"channel":`...)
	buf = wsframe.AppendJSONString(buf, channel)
	buf = append(buf, `,"data":`...)
	switch {
	case raw && len(m.Data) == 0:
		buf = append(buf, "null"...)
	case raw:
		buf = append(buf, m.Data...)
	default:
		buf = appendPusherData(buf, m.Data)
	}
	if m.UserID != "" {
		buf = append(buf, `,"user_id":`...)
		buf = wsframe.AppendJSONString(buf, m.UserID)
	}
	return wsframe.Finish(append(buf, '}'))
}

// appendPusherData appends the "data" string of a server event: data
// itself when it is a JSON string, else data's JSON text as a string.
func appendPusherData(b []byte, data json.RawMessage) []byte {
	switch {
	case len(data) == 0:
		return append(b, `"null"`...)
	case data[0] == '"':
		return append(b, data...)
	}
	return wsframe.AppendJSONString(b, string(data))
}

// pusherFrame builds a complete text frame for a control event whose data
// (a JSON value) is sent double-encoded. channel may be empty.
func pusherFrame(event, channel string, data []byte) []byte {
	b := make([]byte, 0, 48+len(event)+len(channel)+len(data)*5/4)
	b = append(b, `{"event":`...)
	b = wsframe.AppendJSONString(b, event)
	if channel != "" {
		b = append(b, `,"channel":`...)
		b = wsframe.AppendJSONString(b, channel)
	}
	b = append(b, `,"data":`...)
	b = wsframe.AppendJSONString(b, string(data))
	return wsframe.Text(append(b, '}'))
}

// Connected is pusher:connection_established.
func (Codec) Connected(socketID string, activityTimeout int) []byte {
	d := append([]byte(`{"socket_id":`), strconv.Quote(socketID)...)
	d = append(d, `,"activity_timeout":`...)
	d = strconv.AppendInt(d, int64(activityTimeout), 10)
	return pusherFrame(pusherConnectionEstablished, "", append(d, '}'))
}

var pongFrame = pusherFrame(pusherPong, "", []byte("{}"))

// Pong answers pusher:ping.
func (Codec) Pong() []byte { return pongFrame }

// Subscribed is subscription_succeeded: "{}" for public and private
// channels, {"presence":{"ids","hash","count"}} for presence channels.
func (Codec) Subscribed(channel string, members []broadcast.Member) []byte {
	if members == nil {
		return pusherFrame(pusherSubscriptionSucceeded, channel, []byte("{}"))
	}
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.UserID
	}
	idsJSON, _ := json.Marshal(ids)
	d := append([]byte(`{"presence":{"ids":`), idsJSON...)
	d = append(d, `,"hash":{`...)
	for i, m := range members {
		if i > 0 {
			d = append(d, ',')
		}
		d = wsframe.AppendJSONString(d, m.UserID)
		d = append(d, ':')
		if len(m.UserInfo) == 0 {
			d = append(d, "null"...)
		} else {
			d = append(d, m.UserInfo...)
		}
	}
	d = append(d, `},"count":`...)
	d = strconv.AppendInt(d, int64(len(members)), 10)
	return pusherFrame(pusherSubscriptionSucceeded, channel, append(d, "}}"...))
}

// SubscriptionError is the channel-scoped error that pusher-js emits to
// the channel, which laravel-echo hands to .error() callbacks.
func (Codec) SubscriptionError(channel string, e *protocol.Error) []byte {
	code := Code(e.Code)
	typ, status := "SubscriptionError", code
	if e.Code == protocol.CodeUnauthorized {
		typ, status = "AuthError", 401
	}
	d, _ := json.Marshal(struct {
		Type   string `json:"type"`
		Error  string `json:"error"`
		Status int    `json:"status"`
		Code   int    `json:"code"`
	}{typ, e.Message, status, code})
	return pusherFrame(pusherSubscriptionError, channel, d)
}

// Error is pusher:error; Pusher errors carry no channel.
func (Codec) Error(e *protocol.Error, _ string) []byte {
	d, _ := json.Marshal(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{Code(e.Code), e.Message})
	return pusherFrame(pusherError, "", d)
}

// SigninSuccess is pusher:signin_success.
func (Codec) SigninSuccess(userData string) []byte {
	d, _ := json.Marshal(struct {
		UserData string `json:"user_data"`
	}{userData})
	return pusherFrame(pusherSigninSuccess, "", d)
}

// CloseCode is Code: Pusher clients read close codes as Pusher codes.
func (Codec) CloseCode(code int) int { return Code(code) }

// Code maps the native-only codes (4400–4599) to the Pusher code a Pusher
// client acts on: pusher-js never reconnects after a close code of
// 4000–4099 or ≥ 4300, so fatal native codes become 4100 (reconnect after
// a backoff) or 4200 (reconnect now).
func Code(code int) int {
	switch code {
	case protocol.CodeInvalidChannel, protocol.CodeAlreadyJoined, protocol.CodeNotSubscribed,
		protocol.CodeTooManyChannels, protocol.CodeMemberTooLarge, protocol.CodePresenceFull:
		return protocol.CodeUnauthorized
	case protocol.CodeClientEvent:
		return protocol.CodeRateLimited
	case protocol.CodeSlowConsumer:
		return protocol.CodeOverCapacity
	}
	if code >= 4400 && code < 4600 {
		return protocol.CodeShutdown
	}
	return code
}

// inFrame is a client → server frame.
type inFrame struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
}

// subscribeData is the data of pusher:subscribe and unsubscribe.
// channel_data is a JSON string from pusher-js; an object is taken as is.
type subscribeData struct {
	Channel     string          `json:"channel"`
	Auth        string          `json:"auth"`
	ChannelData json.RawMessage `json:"channel_data"`
}

// Parse decodes one client frame. It never panics: a frame that is not a
// JSON object with a string event is a 4400 error, an unsupported event
// 4401.
func (Codec) Parse(data []byte) (protocol.Command, *protocol.Error) {
	var f inFrame
	if err := json.Unmarshal(data, &f); err != nil || f.Event == "" {
		return protocol.Command{}, protocol.Errorf(protocol.CodeMalformedFrame, err, "Invalid message format")
	}
	switch {
	case f.Event == "pusher:ping":
		return protocol.Command{Op: protocol.OpPing}, nil
	case f.Event == "pusher:pong":
		return protocol.Command{Op: protocol.OpPong}, nil
	case f.Event == "pusher:subscribe" || f.Event == "pusher:unsubscribe":
		d, perr := decodeSubscribe(f.Data)
		if perr != nil {
			return protocol.Command{}, perr
		}
		op := protocol.OpSubscribe
		if f.Event == "pusher:unsubscribe" {
			op = protocol.OpUnsubscribe
		}
		return protocol.Command{Op: op, Channel: d.Channel, Auth: d.Auth, ChannelData: RawString(d.ChannelData)}, nil
	case f.Event == "pusher:signin":
		var d struct {
			Auth     string `json:"auth"`
			UserData string `json:"user_data"`
		}
		if err := json.Unmarshal([]byte(RawString(f.Data)), &d); err != nil {
			return protocol.Command{}, protocol.Errorf(protocol.CodeUnauthorized, err, `signin: data must be {"auth":string,"user_data":string}`)
		}
		return protocol.Command{Op: protocol.OpSignin, Auth: d.Auth, UserData: d.UserData}, nil
	case strings.HasPrefix(f.Event, broadcast.ClientEventPrefix):
		payload := f.Data
		if len(bytes.TrimSpace(payload)) == 0 {
			payload = json.RawMessage("null")
		}
		return protocol.Command{Op: protocol.OpClientEvent, Event: f.Event, Channel: f.Channel, Data: payload}, nil
	}
	return protocol.Command{}, protocol.Errorf(protocol.CodeUnknownType, nil, "unsupported event %q", protocol.Truncate(f.Event))
}

// decodeSubscribe reads subscribe data given as an object or, as some
// clients do, as a JSON string holding the object.
func decodeSubscribe(raw json.RawMessage) (subscribeData, *protocol.Error) {
	var d subscribeData
	raw = json.RawMessage(RawString(raw))
	if err := json.Unmarshal(raw, &d); err != nil {
		return d, protocol.Errorf(protocol.CodeMalformedFrame, err, `data must be {"channel":...}`)
	}
	if d.Channel == "" {
		return d, protocol.Errorf(protocol.CodeMalformedFrame, nil, "no channel")
	}
	return d, nil
}

// RawString returns the content of a JSON string, or the raw JSON text of
// any other value ("" for none).
func RawString(raw json.RawMessage) string {
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

// SubscribedStream is Subscribed: the Pusher protocol has no stream
// positions.
func (c Codec) SubscribedStream(channel string, members []broadcast.Member, _ protocol.Stream) []byte {
	return c.Subscribed(channel, members)
}

// CacheMiss tells a subscriber of a cache channel that it holds no event:
// {"event":"pusher:cache_miss","channel":C}.
func (Codec) CacheMiss(channel string) []byte {
	b := append([]byte(`{"event":"pusher:cache_miss","channel":`), wsframe.AppendJSONString(nil, channel)...)
	return wsframe.Text(append(b, '}'))
}
