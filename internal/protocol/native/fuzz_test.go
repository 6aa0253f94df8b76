package native

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/velocitykode/velocity/internal/protocol"
	"github.com/velocitykode/velocity/internal/wsframe"
)

// FuzzParseNativeFrame: the frame parser never panics, and what it
// accepts is a JSON object with a non-empty string type.
func FuzzParseNativeFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"subscribe","data":{"channel":"orders"}}`,
		`{"type":"subscribe","data":{"channel":"private-user.1","auth":"k:abc","channel_data":"{}"}}`,
		`{"type":"unsubscribe","channel":"orders"}`,
		`{"type":"ping"}`,
		`{"type":"client-typing","channel":"presence-x","data":{"a":1}}`,
		`{"type":5}`, `[1]`, `"x"`, `{`, ``, ` {"type":"a"}`, `{"type":"subscribe","data":"x"}`,
		`{"type":"subscribe","data":{"channel":"orders","since":{"offset":40,"epoch":"k3f9"}}}`,
		`{"type":"subscribe","data":{"channel":"orders","since":{"offset":-1}}}`,
		`{"type":"history","data":{"channel":"orders","limit":50}}`,
		`{"type":"history","data":{"channel":"orders","limit":1e9}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, perr := parseFrame(b)
		if perr != nil {
			if perr.Code != protocol.CodeMalformedFrame {
				t.Fatalf("parse error code %d", perr.Code)
			}
			return
		}
		if fr.Type == "" || !json.Valid(b) {
			t.Fatalf("accepted %q as %+v", b, fr)
		}
		if cmd, perr := (Codec{}).Parse(b); perr == nil {
			if cmd.Since != nil && len(cmd.Since.Epoch) > protocol.MaxEpochLength || cmd.Limit < 0 || cmd.Limit > MaxHistoryLimit {
				t.Fatalf("out-of-bounds command accepted from %q: %+v", b, cmd)
			}
		}
		if fr.Type == "subscribe" || fr.Type == "unsubscribe" {
			if d, perr := fr.subscription(); perr == nil && d.Channel == "" {
				t.Fatalf("subscription without channel accepted: %q", b)
			}
		}
	})
}

// FuzzNativeCodec: every encoded event frame carries valid JSON whatever
// the event name and user id.
func FuzzNativeCodec(f *testing.F) {
	f.Add("OrderShipped", "orders", `{"a":1}`, "")
	f.Add("é\"\\\n<>&", "presence-x", `"s"`, "u\"1")
	f.Fuzz(func(t *testing.T, event, channel, data, user string) {
		if !json.Valid([]byte(data)) {
			return
		}
		m := msg(event, channel, data, user)
		fr := Codec{}.EncodeEvent(channel, m)
		payload, ok := wsframe.Payload(fr)
		if !ok || !json.Valid(payload) {
			t.Fatalf("invalid frame for %q/%q: %q", event, user, fr)
		}
		var got struct{ Type, Channel, UserID string }
		_ = json.Unmarshal(payload, &got)
		if got.Type != event && utf8.ValidString(event) {
			// encoding/json replaces invalid UTF-8; only check valid names.
			t.Fatalf("type %q, want %q", got.Type, event)
		}
	})
}
