package native

import (
	"encoding/binary"
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

// unframe checks an unmasked server text frame and returns its payload.
func unframe(f []byte) ([]byte, bool) {
	if len(f) < 2 || f[0] != wsframe.OpText || f[1]&0x80 != 0 {
		return nil, false
	}
	n, h := int(f[1]), 2
	switch n {
	case 126:
		n, h = int(binary.BigEndian.Uint16(f[2:])), 4
	case 127:
		n, h = int(binary.BigEndian.Uint64(f[2:])), 10
	}
	return f[h:], len(f) == h+n
}

func TestNativeCodecFrames(t *testing.T) {
	for _, size := range []int{10, 125, 126, 65535, 65536, 200000} {
		data := `"` + strings.Repeat("x", size) + `"`
		fr := Codec{}.EncodeEvent("orders", msg("E", "orders", data, ""))
		payload, ok := unframe(fr)
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
