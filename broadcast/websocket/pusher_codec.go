package websocket

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/velocitykode/velocity/broadcast"
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

// pusherCodec encodes hub messages as Pusher protocol v7 frames:
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
type pusherCodec struct{}

// EncodeEvent implements hub.Codec, building the frame in one allocation
// like nativeCodec.
func (pusherCodec) EncodeEvent(channel string, m *broadcast.Message) []byte {
	event, raw := m.Event, false
	switch {
	case event == eventMemberAdded:
		event = pusherMemberAdded
	case event == eventMemberRemoved:
		event = pusherMemberRemoved
	case strings.HasPrefix(event, broadcast.ClientEventPrefix):
		raw = true
	}
	// Room for the escaped data: JSON text mostly needs one backslash per
	// quote; append grows the buffer when it needs more.
	size := 48 + len(event) + len(channel) + len(m.Data)*5/4 + len(m.UserID)
	buf := newFrameBuf(size)
	buf = append(buf, `{"event":`...)
	buf = appendJSONString(buf, event)
	buf = append(buf, `,"channel":`...)
	buf = appendJSONString(buf, channel)
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
		buf = appendJSONString(buf, m.UserID)
	}
	return finishFrame(append(buf, '}'))
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
	return appendJSONString(b, string(data))
}

// pusherFrame builds a complete text frame for a control event whose data
// (a JSON value) is sent double-encoded. channel may be empty.
func pusherFrame(event, channel string, data []byte) []byte {
	b := make([]byte, 0, 48+len(event)+len(channel)+len(data)*5/4)
	b = append(b, `{"event":`...)
	b = appendJSONString(b, event)
	if channel != "" {
		b = append(b, `,"channel":`...)
		b = appendJSONString(b, channel)
	}
	b = append(b, `,"data":`...)
	b = appendJSONString(b, string(data))
	return textFrame(append(b, '}'))
}

func pusherConnected(socketID string, activityTimeout int) []byte {
	d := append([]byte(`{"socket_id":`), strconv.Quote(socketID)...)
	d = append(d, `,"activity_timeout":`...)
	d = strconv.AppendInt(d, int64(activityTimeout), 10)
	return pusherFrame(pusherConnectionEstablished, "", append(d, '}'))
}

var pusherPongFrame = pusherFrame(pusherPong, "", []byte("{}"))

// pusherSubscribed is subscription_succeeded: "{}" for public and private
// channels, {"presence":{"ids","hash","count"}} for presence channels.
func pusherSubscribed(channel string, members []broadcast.Member) []byte {
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
		d = appendJSONString(d, m.UserID)
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

// pusherSubscriptionErrorFrame is the channel-scoped error that pusher-js
// emits to the channel, which laravel-echo hands to .error() callbacks.
func pusherSubscriptionErrorFrame(channel string, e *ProtocolError) []byte {
	code := pusherCode(e.Code)
	typ, status := "SubscriptionError", code
	if e.Code == CodeUnauthorized {
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

func pusherErrorFrame(e *ProtocolError) []byte {
	d, _ := json.Marshal(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{pusherCode(e.Code), e.Message})
	return pusherFrame(pusherError, "", d)
}

func pusherSigninSuccessFrame(userData string) []byte {
	d, _ := json.Marshal(struct {
		UserData string `json:"user_data"`
	}{userData})
	return pusherFrame(pusherSigninSuccess, "", d)
}

// pusherCode maps the native-only codes (4400–4599) to the Pusher code a
// Pusher client acts on: pusher-js never reconnects after a close code of
// 4000–4099 or ≥ 4300, so fatal native codes become 4100 (reconnect after
// a backoff) or 4200 (reconnect now).
func pusherCode(code int) int {
	switch code {
	case CodeInvalidChannel, CodeAlreadyJoined, CodeNotSubscribed:
		return CodeUnauthorized
	case CodeClientEvent:
		return CodeRateLimited
	case CodeSlowConsumer:
		return CodeOverCapacity
	}
	if code >= 4400 && code < 4600 {
		return CodeShutdown
	}
	return code
}
