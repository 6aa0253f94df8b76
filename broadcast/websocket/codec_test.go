package websocket

import (
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"

	"github.com/velocitykode/velocity/broadcast"
)

func msg(event, channel, data, user string) *broadcast.Message {
	return &broadcast.Message{Channels: []string{channel}, Event: event, Data: json.RawMessage(data), UserID: user}
}

// unframe checks an unmasked server text frame and returns its payload.
func unframe(f []byte) ([]byte, bool) {
	if len(f) < 2 || f[0] != opText || f[1]&0x80 != 0 {
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
		fr := nativeCodec{}.EncodeEvent("orders", msg("E", "orders", data, ""))
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

// BenchmarkHubDeliver is the hot path without sockets: one message to
// 1,000 subscribers whose queues accept frames. It must not allocate per
// delivery.
func BenchmarkHubDeliver(b *testing.B) {
	ts := newTestServer(b, Config{})
	subs := make([]*sinkSub, 1000)
	for i := range subs {
		subs[i] = &sinkSub{id: broadcast.NewSocketID()}
		ts.Hub().Add("bench", subs[i])
	}
	m := msg("Tick", "bench", `{"seq":1,"body":"`+strings.Repeat("x", 120)+`"}`, "")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		ts.Hub().Deliver(m)
	}
	b.ReportMetric(float64(b.N*len(subs))/b.Elapsed().Seconds(), "deliveries/s")
}

type sinkSub struct {
	id string
	n  int
}

func (s *sinkSub) SocketID() string { return s.id }
func (s *sinkSub) Codec() int       { return nativeCodecIndex }
func (s *sinkSub) Send([]byte) bool { s.n++; return true }
