package natsbroker

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
)

func TestCodecRoundTrip(t *testing.T) {
	t.Parallel()
	for _, e := range []*broker.Envelope{
		broker.New("c", "Ev", json.RawMessage(`{"a":1}`)),
		broker.New("c", "Ev", nil),
		{Message: broadcast.Message{Channels: []string{"c"}, Event: "member_added", Data: json.RawMessage(`{"user_id":"7"}`),
			Except: "1.2", Conflate: "AAPL"}, UserID: "u", Version: 1<<40 + 3, Epoch: 1 << 39},
	} {
		got, err := decode("c", encode(e))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("decoded %+v, encoded %+v", got, e)
		}
	}
}

func TestCodecRefusesBadInput(t *testing.T) {
	t.Parallel()
	good := encode(broker.New("c", "Ev", json.RawMessage(`{"a":1}`)))
	long := make([]byte, 0, 300)
	long = append(long, wireMagic, wireVersion, 0xAC, 0x02) // event of 300 bytes
	long = append(long, make([]byte, 300)...)
	cases := map[string][]byte{
		"empty":        {},
		"plain JSON":   []byte(`{"event":"x"}`),
		"other format": {wireMagic, 9},
		"truncated":    good[:4],
		"long event":   long,
		"not JSON":     append(append([]byte(nil), good[:len(good)-7]...), "nope"...),
		"resync":       encode(broker.New("c", broker.EventResync, nil)),
		"empty event":  encode(broker.New("c", "", nil)),
	}
	for name, payload := range cases {
		if _, err := decode("c", payload); !errors.Is(err, errMalformed) {
			t.Errorf("%s: err = %v, want errMalformed", name, err)
		}
	}
}

// FuzzDecode checks that decode never panics and that what it accepts
// encodes back to the same bytes.
func FuzzDecode(f *testing.F) {
	f.Add(encode(broker.New("c", "Ev", json.RawMessage(`{"a":1}`))))
	f.Add([]byte{wireMagic, wireVersion, 1, 'e', 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, payload []byte) {
		e, err := decode("c", payload)
		if err != nil {
			return
		}
		if again := encode(e); string(again) != string(payload) {
			// Non-minimal varints decode too; the fields must survive.
			e2, err := decode("c", again)
			if err != nil || !reflect.DeepEqual(e, e2) {
				t.Fatalf("re-encoding %q gave %q (%v)", payload, again, err)
			}
		}
	})
}
