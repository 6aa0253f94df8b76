package websocket

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/velocitykode/velocity/broadcast"
)

// nativeCodec encodes hub messages as native-protocol frames:
// {"type":EVENT,"channel":CHANNEL,"data":DATA[,"user_id":ID]}.
type nativeCodec struct{}

// EncodeEvent builds the complete text frame in one allocation: the
// payload is appended after room for the longest header, and the header is
// written just in front of it.
func (nativeCodec) EncodeEvent(channel string, m *broadcast.Message) []byte {
	size := 40 + len(m.Event) + len(channel) + len(m.Data) + len(m.UserID)
	buf := newFrameBuf(size)
	buf = append(buf, `{"type":`...)
	buf = appendJSONString(buf, m.Event)
	buf = append(buf, `,"channel":`...)
	buf = appendJSONString(buf, channel)
	buf = append(buf, `,"data":`...)
	if len(m.Data) == 0 {
		buf = append(buf, "null"...)
	} else {
		buf = append(buf, m.Data...)
	}
	if m.UserID != "" {
		buf = append(buf, `,"user_id":`...)
		buf = appendJSONString(buf, m.UserID)
	}
	return finishFrame(append(buf, '}'))
}

// nativeFrame is a client → server frame of the native protocol.
type nativeFrame struct {
	Type    string          `json:"type"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
}

// subscribeData is the data of subscribe and unsubscribe frames.
type subscribeData struct {
	Channel     string `json:"channel"`
	Auth        string `json:"auth"`
	ChannelData string `json:"channel_data"`
}

// parseNativeFrame decodes one client frame. It never panics; every
// failure is a *ProtocolError with code 4400.
func parseNativeFrame(b []byte) (nativeFrame, *ProtocolError) {
	var f nativeFrame
	t := bytes.TrimLeft(b, " \t\r\n")
	if len(t) == 0 || t[0] != '{' {
		return f, protoErr(CodeMalformedFrame, nil, "frame must be a JSON object")
	}
	if err := json.Unmarshal(t, &f); err != nil {
		return f, protoErr(CodeMalformedFrame, err, "malformed JSON frame")
	}
	if f.Type == "" {
		return f, protoErr(CodeMalformedFrame, nil, `frame has no "type"`)
	}
	return f, nil
}

// subscription parses the data of a subscribe/unsubscribe frame; the
// channel may also be given at the top level.
func (f nativeFrame) subscription() (subscribeData, *ProtocolError) {
	var d subscribeData
	if len(f.Data) > 0 && !bytes.Equal(f.Data, []byte("null")) {
		if err := json.Unmarshal(f.Data, &d); err != nil {
			return d, protoErr(CodeMalformedFrame, err, "%s: data must be an object with a string channel", f.Type)
		}
	}
	if d.Channel == "" {
		d.Channel = f.Channel
	}
	if d.Channel == "" {
		return d, protoErr(CodeMalformedFrame, nil, "%s: no channel", f.Type)
	}
	return d, nil
}

// Server → client frames of the native protocol.

func nativeConnected(socketID string, activityTimeout int) []byte {
	b := append([]byte(`{"type":"connected","data":{"socket_id":`), strconv.Quote(socketID)...)
	b = append(b, `,"activity_timeout":`...)
	b = strconv.AppendInt(b, int64(activityTimeout), 10)
	return textFrame(append(b, "}}"...))
}

func nativeRefreshed(expires time.Time) []byte {
	b := []byte(`{"type":"refreshed","data":{"expires_at":`)
	if expires.IsZero() {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, expires.Unix(), 10)
	}
	return textFrame(append(b, "}}"...))
}

var nativePong = textFrame([]byte(`{"type":"pong"}`))

func nativeSubscribed(channel string, members []broadcast.Member) []byte {
	b := append([]byte(`{"type":"subscription_succeeded","channel":`), appendJSONString(nil, channel)...)
	b = append(b, `,"data":{"channel":`...)
	b = appendJSONString(b, channel)
	if members != nil {
		mj, _ := json.Marshal(members)
		b = append(b, `,"members":`...)
		b = append(b, mj...)
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, int64(len(members)), 10)
	}
	return textFrame(append(b, "}}"...))
}

func nativeSubscriptionError(channel string, e *ProtocolError) []byte {
	b := append([]byte(`{"type":"subscription_error","channel":`), appendJSONString(nil, channel)...)
	b = append(b, `,"data":{"channel":`...)
	b = appendJSONString(b, channel)
	b = append(b, `,"code":`...)
	b = strconv.AppendInt(b, int64(e.Code), 10)
	b = append(b, `,"error":`...)
	b = appendJSONString(b, e.Message)
	return textFrame(append(b, "}}"...))
}

func nativeError(e *ProtocolError, channel string) []byte {
	b := append([]byte(`{"type":"error","data":{"code":`), strconv.Itoa(e.Code)...)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, e.Message)
	if channel != "" {
		b = append(b, `,"channel":`...)
		b = appendJSONString(b, channel)
	}
	return textFrame(append(b, "}}"...))
}
