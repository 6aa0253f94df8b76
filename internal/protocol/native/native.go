// Package native is the codec of the native JSON protocol: text frames,
// one JSON object each, {"type":…,"channel":…,"data":…}. It turns client
// frames into protocol commands and messages into complete WebSocket
// frames; it holds no connection state.
package native

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/internal/protocol"
	"github.com/velocitykode/velocity/internal/wsframe"
)

// Codec is the native protocol. The zero value is ready.
type Codec struct{}

// Name returns "native".
func (Codec) Name() string { return "native" }

// EncodeEvent builds the complete text frame of an event,
// {"type":EVENT,"channel":CHANNEL,"data":DATA[,"user_id":ID][,"offset":N,"epoch":E]}, in one
// allocation: the payload is appended after room for the longest header,
// and the header is written just in front of it.
func (Codec) EncodeEvent(channel string, m *broker.Envelope) []byte {
	size := 40 + len(m.Event) + len(channel) + len(m.Data) + len(m.UserID)
	if m.Position.Offset != 0 {
		size += 40 + len(m.Position.Epoch)
	}
	buf := wsframe.NewBuf(size)
	event := m.Event
	if event == broker.EventSubscriptionCount {
		event = "subscription_count"
	}
	buf = append(buf, `{"type":`...)
	buf = wsframe.AppendJSONString(buf, event)
	buf = append(buf, `,"channel":`...)
	buf = wsframe.AppendJSONString(buf, channel)
	buf = append(buf, `,"data":`...)
	if len(m.Data) == 0 {
		buf = append(buf, "null"...)
	} else {
		buf = append(buf, m.Data...)
	}
	if m.UserID != "" {
		buf = append(buf, `,"user_id":`...)
		buf = wsframe.AppendJSONString(buf, m.UserID)
	}
	if m.Position.Offset != 0 {
		buf = appendPosition(buf, m.Position.Offset, m.Position.Epoch)
	}
	return wsframe.Finish(append(buf, '}'))
}

// appendPosition appends ,"offset":N,"epoch":E.
func appendPosition(b []byte, offset uint64, epoch string) []byte {
	b = append(b, `,"offset":`...)
	b = strconv.AppendUint(b, offset, 10)
	b = append(b, `,"epoch":`...)
	return wsframe.AppendJSONString(b, epoch)
}

// frame is a client → server frame.
type frame struct {
	Type    string          `json:"type"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
}

// subscribeData is the data of subscribe and unsubscribe frames.
type subscribeData struct {
	Channel     string     `json:"channel"`
	Auth        string     `json:"auth"`
	ChannelData string     `json:"channel_data"`
	Since       *sinceData `json:"since"`
	Limit       *int       `json:"limit"`
}

// sinceData is a subscribe's recovery position.
type sinceData struct {
	Offset *uint64 `json:"offset"`
	Epoch  string  `json:"epoch"`
}

// MaxHistoryLimit bounds the limit of a history request.
const MaxHistoryLimit = 10000

// Parse decodes one client frame. It never panics; a frame that is not a
// JSON object with a string type, or whose fields have the wrong types,
// is a 4400 error, an unknown type 4401.
func (Codec) Parse(b []byte) (protocol.Command, *protocol.Error) {
	f, perr := parseFrame(b)
	if perr != nil {
		return protocol.Command{}, perr
	}
	switch {
	case f.Type == "subscribe" || f.Type == "unsubscribe":
		d, perr := f.subscription()
		if perr != nil {
			return protocol.Command{}, perr
		}
		op := protocol.OpSubscribe
		if f.Type == "unsubscribe" {
			op = protocol.OpUnsubscribe
		}
		cmd := protocol.Command{Op: op, Channel: d.Channel, Auth: d.Auth, ChannelData: d.ChannelData}
		if d.Since != nil && op == protocol.OpSubscribe {
			if d.Since.Offset == nil || len(d.Since.Epoch) > protocol.MaxEpochLength {
				return protocol.Command{}, protocol.Errorf(protocol.CodeMalformedFrame, nil, `subscribe: since must be {"offset":<integer>,"epoch":"<at most %d characters>"}`, protocol.MaxEpochLength)
			}
			cmd.Since = &protocol.Position{Offset: *d.Since.Offset, Epoch: d.Since.Epoch}
		}
		return cmd, nil
	case f.Type == "history":
		d, perr := f.subscription()
		if perr != nil {
			return protocol.Command{}, perr
		}
		limit := 0
		if d.Limit != nil {
			limit = *d.Limit
		}
		if limit < 0 || limit > MaxHistoryLimit {
			return protocol.Command{}, protocol.Errorf(protocol.CodeMalformedFrame, nil, "history: limit must be 0..%d", MaxHistoryLimit)
		}
		return protocol.Command{Op: protocol.OpHistory, Channel: d.Channel, Limit: limit}, nil
	case f.Type == "refresh":
		var d struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal(f.Data, &d); err != nil || d.Token == "" {
			return protocol.Command{}, protocol.Errorf(protocol.CodeMalformedFrame, err, `refresh: data must be {"token":"<JWT>"}`)
		}
		return protocol.Command{Op: protocol.OpRefresh, Token: d.Token}, nil
	case f.Type == "ping":
		return protocol.Command{Op: protocol.OpPing}, nil
	case strings.HasPrefix(f.Type, broadcast.ClientEventPrefix):
		payload := f.Data
		if len(bytes.TrimSpace(payload)) == 0 {
			payload = json.RawMessage("null")
		}
		return protocol.Command{Op: protocol.OpClientEvent, Event: f.Type, Channel: f.Channel, Data: payload}, nil
	}
	return protocol.Command{}, protocol.Errorf(protocol.CodeUnknownType, nil, "unknown message type %q", protocol.Truncate(f.Type))
}

func parseFrame(b []byte) (frame, *protocol.Error) {
	var f frame
	t := bytes.TrimLeft(b, " \t\r\n")
	if len(t) == 0 || t[0] != '{' {
		return f, protocol.Errorf(protocol.CodeMalformedFrame, nil, "frame must be a JSON object")
	}
	if err := json.Unmarshal(t, &f); err != nil {
		return f, protocol.Errorf(protocol.CodeMalformedFrame, err, "malformed JSON frame")
	}
	if f.Type == "" {
		return f, protocol.Errorf(protocol.CodeMalformedFrame, nil, `frame has no "type"`)
	}
	return f, nil
}

// subscription parses the data of a subscribe/unsubscribe frame; the
// channel may also be given at the top level.
func (f frame) subscription() (subscribeData, *protocol.Error) {
	var d subscribeData
	if len(f.Data) > 0 && !bytes.Equal(f.Data, []byte("null")) {
		if err := json.Unmarshal(f.Data, &d); err != nil {
			return d, protocol.Errorf(protocol.CodeMalformedFrame, err, "%s: data must be an object with a string channel", f.Type)
		}
	}
	if d.Channel == "" {
		d.Channel = f.Channel
	}
	if d.Channel == "" {
		return d, protocol.Errorf(protocol.CodeMalformedFrame, nil, "%s: no channel", f.Type)
	}
	return d, nil
}

// Connected is the first frame of a connection.
func (Codec) Connected(socketID string, activityTimeout int) []byte {
	b := append([]byte(`{"type":"connected","data":{"socket_id":`), strconv.Quote(socketID)...)
	b = append(b, `,"activity_timeout":`...)
	b = strconv.AppendInt(b, int64(activityTimeout), 10)
	return wsframe.Text(append(b, "}}"...))
}

// Refreshed answers a refresh frame with the new expiry (null: never).
func (Codec) Refreshed(expires time.Time) []byte {
	b := []byte(`{"type":"refreshed","data":{"expires_at":`)
	if expires.IsZero() {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, expires.Unix(), 10)
	}
	return wsframe.Text(append(b, "}}"...))
}

var pong = wsframe.Text([]byte(`{"type":"pong"}`))

// Pong answers a ping frame.
func (Codec) Pong() []byte { return pong }

// Subscribed acknowledges a subscription; members is nil except on
// presence channels.
func (Codec) Subscribed(channel string, members []broadcast.Member) []byte {
	return wsframe.Text(append(subscribedBody(channel, members), "}}"...))
}

// subscribedBody is the subscription acknowledgement without its closing
// "}}".
func subscribedBody(channel string, members []broadcast.Member) []byte {
	b := append([]byte(`{"type":"subscription_succeeded","channel":`), wsframe.AppendJSONString(nil, channel)...)
	b = append(b, `,"data":{"channel":`...)
	b = wsframe.AppendJSONString(b, channel)
	if members != nil {
		mj, _ := json.Marshal(members)
		b = append(b, `,"members":`...)
		b = append(b, mj...)
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, int64(len(members)), 10)
	}
	return b
}

// SubscribedStream acknowledges a subscription with what it says of the
// channel's stream: {"offset","epoch"} on a channel with history, and
// "recovered" in answer to a subscribe with a since.
func (Codec) SubscribedStream(channel string, members []broadcast.Member, st protocol.Stream) []byte {
	b := subscribedBody(channel, members)
	if st.History {
		b = appendPosition(b, st.Position.Offset, st.Position.Epoch)
	}
	if st.Recovery {
		b = append(b, `,"recovered":`...)
		b = strconv.AppendBool(b, st.Recovered)
	}
	return wsframe.Text(append(b, "}}"...))
}

// History answers a history request:
// {"type":"history","channel":C,"data":{"publications":[…],"offset":N,"epoch":E}}.
func (Codec) History(channel string, pubs []*broker.Envelope, pos protocol.Position) []byte {
	b := append([]byte(`{"type":"history","channel":`), wsframe.AppendJSONString(nil, channel)...)
	b = append(b, `,"data":{"publications":[`...)
	for i, p := range pubs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"event":`...)
		b = wsframe.AppendJSONString(b, p.Event)
		b = append(b, `,"data":`...)
		if len(p.Data) == 0 {
			b = append(b, "null"...)
		} else {
			b = append(b, p.Data...)
		}
		b = append(b, `,"offset":`...)
		b = strconv.AppendUint(b, p.Position.Offset, 10)
		b = append(b, '}')
	}
	b = append(b, ']')
	b = appendPosition(b, pos.Offset, pos.Epoch)
	return wsframe.Text(append(b, "}}"...))
}

// CacheMiss tells a subscriber of a cache channel that it holds no event:
// {"type":"cache_miss","channel":C}.
func (Codec) CacheMiss(channel string) []byte {
	b := append([]byte(`{"type":"cache_miss","channel":`), wsframe.AppendJSONString(nil, channel)...)
	return wsframe.Text(append(b, '}'))
}

// SubscriptionError refuses a subscription.
func (Codec) SubscriptionError(channel string, e *protocol.Error) []byte {
	b := append([]byte(`{"type":"subscription_error","channel":`), wsframe.AppendJSONString(nil, channel)...)
	b = append(b, `,"data":{"channel":`...)
	b = wsframe.AppendJSONString(b, channel)
	b = append(b, `,"code":`...)
	b = strconv.AppendInt(b, int64(e.Code), 10)
	b = append(b, `,"error":`...)
	b = wsframe.AppendJSONString(b, e.Message)
	return wsframe.Text(append(b, "}}"...))
}

// Error reports a problem, about channel when it is not empty.
func (Codec) Error(e *protocol.Error, channel string) []byte {
	b := append([]byte(`{"type":"error","data":{"code":`), strconv.Itoa(e.Code)...)
	b = append(b, `,"message":`...)
	b = wsframe.AppendJSONString(b, e.Message)
	if channel != "" {
		b = append(b, `,"channel":`...)
		b = wsframe.AppendJSONString(b, channel)
	}
	return wsframe.Text(append(b, "}}"...))
}

// CloseCode returns code: native clients read the native table.
func (Codec) CloseCode(code int) int { return code }
