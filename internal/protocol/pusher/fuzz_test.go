package pusher

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/internal/protocol"
	"github.com/velocitykode/velocity/internal/wsframe"
)

// FuzzParse: the parser never panics; what it refuses carries a
// documented code, and what it accepts names an operation and, for
// subscriptions, a channel.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"event":"pusher:subscribe","data":{"channel":"orders"}}`,
		`{"event":"pusher:subscribe","data":"{\"channel\":\"presence-x\",\"auth\":\"k:s\",\"channel_data\":\"{}\"}"}`,
		`{"event":"pusher:unsubscribe","data":{"channel":"orders"}}`,
		`{"event":"pusher:ping","data":{}}`, `{"event":"pusher:pong"}`,
		`{"event":"pusher:signin","data":{"auth":"k:s","user_data":"{\"id\":\"1\"}"}}`,
		`{"event":"client-typing","channel":"private-x","data":{"a":1}}`,
		`{"event":"pusher:bogus"}`, `{"event":5}`, `[1]`, `{`, ``, `{"data":{}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cmd, perr := Codec{}.Parse(b)
		if perr != nil {
			switch perr.Code {
			case protocol.CodeMalformedFrame, protocol.CodeUnknownType, protocol.CodeUnauthorized:
			default:
				t.Fatalf("parse error code %d for %q", perr.Code, b)
			}
			return
		}
		if cmd.Op == 0 || !json.Valid(b) {
			t.Fatalf("accepted %q as %+v", b, cmd)
		}
		if (cmd.Op == protocol.OpSubscribe || cmd.Op == protocol.OpUnsubscribe) && cmd.Channel == "" {
			t.Fatalf("subscription without channel accepted: %q", b)
		}
		if cmd.Op == protocol.OpClientEvent && len(cmd.Data) == 0 {
			t.Fatalf("client event without data: %q", b)
		}
	})
}

// FuzzEncodeEvent: every event frame is one complete text frame of valid
// JSON whose data is a string, as pusher-js requires, and a JSON string
// payload arrives unchanged.
func FuzzEncodeEvent(f *testing.F) {
	f.Add("OrderShipped", "orders", `{"a":"<b>"}`, "")
	f.Add("client-typing", "presence-x", `"s"`, "u\"1")
	f.Add("member_added", "presence-x", `{"user_id":"1"}`, "")
	f.Fuzz(func(t *testing.T, event, channel, data, user string) {
		if !json.Valid([]byte(data)) || !utf8.ValidString(data) {
			return
		}
		e := broker.New(channel, event, json.RawMessage(data))
		e.UserID = user
		fr := Codec{}.EncodeEvent(channel, e)
		payload, ok := wsframe.Payload(fr)
		if !ok || !json.Valid(payload) {
			t.Fatalf("invalid frame for %q/%q/%q: %q", event, data, user, fr)
		}
		var got struct {
			Event string          `json:"event"`
			Data  json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(payload, &got); err != nil {
			t.Fatal(err)
		}
		if got.Data[0] != '"' && !(len(event) > 7 && event[:7] == "client-") {
			t.Fatalf("server event data is not a string: %s", payload)
		}
		if data[0] == '"' && got.Data[0] == '"' {
			var in, out string
			_ = json.Unmarshal([]byte(data), &in)
			_ = json.Unmarshal(got.Data, &out)
			if in != out && utf8.ValidString(in) {
				t.Fatalf("string payload %q arrived as %q", in, out)
			}
		}
	})
}

func TestCodeKeepsPusherClientsReconnecting(t *testing.T) {
	t.Parallel()
	for native, want := range map[int]int{
		protocol.CodeSlowConsumer: 4100, protocol.CodeTokenExpired: 4200, protocol.CodeMalformedFrame: 4200,
		protocol.CodeNotSubscribed: 4009, protocol.CodeInvalidChannel: 4009, protocol.CodeAlreadyJoined: 4009,
		protocol.CodeClientEvent: 4301, protocol.CodeInternal: 4200, protocol.CodeUnauthorized: 4009, 1000: 1000,
	} {
		if got := Code(native); got != want {
			t.Errorf("Code(%d) = %d, want %d", native, got, want)
		}
	}
}
