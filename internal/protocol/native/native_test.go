package native

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/internal/wsframe"
)

func msg(event, channel, data, user string) *broker.Envelope {
	e := broker.New(channel, event, json.RawMessage(data))
	e.UserID = user
	return e
}

func TestNativeCodecFrames(t *testing.T) {
	for _, size := range []int{10, 125, 126, 65535, 65536, 200000} {
		data := `"` + strings.Repeat("x", size) + `"`
		fr := Codec{}.EncodeEvent("orders", msg("E", "orders", data, ""))
		payload, ok := wsframe.Payload(fr)
		if !ok {
			t.Fatalf("size %d: bad frame header", size)
		}
		var got struct {
			Type, Channel string
			Data          string
		}
		if err := json.Unmarshal(payload, &got); err != nil || got.Type != "E" || got.Channel != "orders" || len(got.Data) != size {
			t.Fatalf("size %d: %v %+v", size, err, got.Type)
		}
	}
}
