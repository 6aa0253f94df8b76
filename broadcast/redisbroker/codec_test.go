package redisbroker

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
)

func TestCodecRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		m    broker.Envelope
	}{
		{name: "plain", m: broker.Envelope{Message: broadcast.Message{Event: "OrderShipped", Data: json.RawMessage(`{"id":1}`)}}},
		{name: "to others", m: broker.Envelope{Message: broadcast.Message{Event: "e", Data: json.RawMessage(`"x"`), Except: "123.456"}}},
		{name: "client event", m: broker.Envelope{Message: broadcast.Message{Event: "client-typing", Data: json.RawMessage(`{}`), Except: "1.2"}, UserID: "42"}},
		{name: "no data", m: broker.Envelope{Message: broadcast.Message{Event: "member_removed"}}},
		{name: "presence version", m: broker.Envelope{Message: broadcast.Message{Event: "member_added", Data: json.RawMessage(`{"user_id":"1"}`), Except: "1.2"}, Version: 1732700000123456}},
		{name: "conflation key", m: broker.Envelope{Message: broadcast.Message{Event: "Price", Data: json.RawMessage(`{"p":1}`), Conflate: "AAPL"}}},
		{name: "restated member", m: broker.Envelope{Message: broadcast.Message{Event: "member_added", Data: json.RawMessage(`{"user_id":"1"}`)}, Version: 1732700000123999, Epoch: 1732700000123000}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.m
			in.Channels = []string{"a", "b"} // not encoded
			got, err := decode("orders", string(encode(&in)))
			if err != nil {
				t.Fatal(err)
			}
			want := tc.m
			want.Channels = []string{"orders"}
			if !reflect.DeepEqual(*got, want) {
				t.Fatalf("decoded %+v, want %+v", *got, want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(string(encode(&broker.Envelope{Message: broadcast.Message{Event: "e", Data: json.RawMessage(`[1]`), Except: "1.1"}, UserID: "u"})))
	f.Add("\xb7\x01\x01x")
	f.Add(string(encode(&broker.Envelope{Message: broadcast.Message{Event: "member_added", Data: json.RawMessage(`{}`)}, Version: 7})))
	f.Add(string(encode(&broker.Envelope{Message: broadcast.Message{Event: "Price", Data: json.RawMessage(`1`), Conflate: "k"}})))
	f.Add("\xb7\x03\x01x\x00\x00\x00")
	f.Add(positioned(broker.New("c", "E", json.RawMessage(`{"a":1}`)), "ep", "42"))
	f.Add("\xb7\x04\x01x\x00\x00\x00\x02ep\x015")
	f.Add("")
	f.Fuzz(func(t *testing.T, payload string) {
		m, err := decode("c", payload)
		if err != nil {
			if !errors.Is(err, errMalformed) {
				t.Fatalf("error %v does not wrap errMalformed", err)
			}
			return
		}
		if m.Event == "" || len(m.Data) > 0 && !json.Valid(m.Data) || len(m.Conflate) > broadcast.MaxConflateKeyLength ||
			payload[1] == wirePositioned && (m.Position.Offset == 0 || m.Position.Epoch == "" || len(m.Position.Epoch) > maxEpoch) {
			t.Fatalf("accepted %+v", m)
		}
	})
}

// Data that is not valid UTF-8 (another process writing on the channel)
// is dropped here, before any client could receive it.
func TestDecodeRefusesInvalidUTF8(t *testing.T) {
	t.Parallel()
	payload := encode(broker.New("c", "E", json.RawMessage("\"\xff\"")))
	if _, err := decode("c", string(payload)); !errors.Is(err, errMalformed) {
		t.Fatalf("decode = %v, want errMalformed", err)
	}
}

// A resync is made by a node's own subscriber only: one arriving on a
// Redis channel (forged by another Redis client) would close every
// subscriber of the channel on every node.
func TestDecodeRefusesResync(t *testing.T) {
	t.Parallel()
	payload := encode(broker.New("c", broker.EventResync, nil))
	if _, err := decode("c", string(payload)); !errors.Is(err, errMalformed) {
		t.Fatalf("decode = %v, want errMalformed", err)
	}
}

// positioned builds a format 4 message as the history script does.
func positioned(m *broker.Envelope, epoch, offset string) string {
	return string(encodePositionedHeader(m)) + string(rune(len(epoch))) + epoch + string(rune(len(offset))) + offset + string(m.Data)
}

// A publication of a channel with history arrives with its position and
// every field; a bad position is refused.
func TestDecodePositioned(t *testing.T) {
	t.Parallel()
	in := broker.New("orders", "Shipped", json.RawMessage(`{"id":7}`))
	in.Except, in.UserID, in.Conflate = "1.2", "u", "k"
	m, err := decode("orders", positioned(in, "k3f9", "42"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Position != (broker.Position{Offset: 42, Epoch: "k3f9"}) || m.Event != "Shipped" || string(m.Data) != `{"id":7}` ||
		m.Except != "1.2" || m.UserID != "u" || m.Conflate != "k" {
		t.Fatalf("decoded %+v", m)
	}
	for _, bad := range []string{
		positioned(in, "", "42"), positioned(in, "e", "0"), positioned(in, "e", "-1"), positioned(in, "e", "4x"),
		positioned(in, strings.Repeat("e", maxEpoch+1), "1"), string(encodePositionedHeader(in)),
	} {
		if _, err := decode("orders", bad); !errors.Is(err, errMalformed) {
			t.Fatalf("bad position %q accepted: %v", bad, err)
		}
	}
}
