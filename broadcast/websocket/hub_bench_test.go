package websocket

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
)

// BenchmarkHubDeliver is the hot path without sockets: one message to
// 1,000 subscribers whose queues accept frames. It must not allocate per
// delivery.
func BenchmarkHubDeliver(b *testing.B) {
	ts := newTestServer(b, Config{})
	subs := make([]*sinkSub, 1000)
	for i := range subs {
		subs[i] = &sinkSub{id: broadcast.NewSocketID()}
		ts.hub.Add("bench", subs[i])
	}
	m := broker.New("bench", "Tick", json.RawMessage(`{"seq":1,"body":"`+strings.Repeat("x", 120)+`"}`))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		ts.hub.Deliver(m)
	}
	b.ReportMetric(float64(b.N*len(subs))/b.Elapsed().Seconds(), "deliveries/s")
}

type sinkSub struct {
	id string
	n  int
}

func (s *sinkSub) SocketID() string                     { return s.id }
func (s *sinkSub) Codec() int                           { return 0 } // the native codec
func (s *sinkSub) Send([]byte) bool                     { s.n++; return true }
func (s *sinkSub) SendKeyed(f []byte, _, _ string) bool { return s.Send(f) }
