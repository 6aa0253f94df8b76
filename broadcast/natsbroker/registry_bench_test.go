package natsbroker

import (
	"context"
	"fmt"
	"testing"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/internal/testenv"
)

// BenchmarkRegistryWriteLargeChannel measures one registry write of a
// channel with 30 000 subscribers on the node after one of them changed,
// and the bytes it sends to NATS.
func BenchmarkRegistryWriteLargeChannel(b *testing.B) {
	url := natsURL(b)
	br, err := New(Options{URL: url, Prefix: testPrefix(b, url), Logger: (&testenv.Buffer{}).Logger()})
	if err != nil {
		b.Fatal(err)
	}
	if err := br.Start(func(*broker.Envelope) {}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = br.Close() })
	const n = 30000
	ids := make([]string, 0, n+1)
	for range n {
		ids = append(ids, broadcast.NewSocketID())
	}
	ctx := context.Background()
	p := pending{channel: "crowd", sockets: ids}
	if err := br.writeChannel(ctx, p); err != nil {
		b.Fatal(err)
	}
	p.written = true
	b.ReportAllocs()
	out := br.nc.Stats().OutBytes
	b.ResetTimer()
	for i := range b.N {
		// One subscriber comes or goes.
		if i%2 == 0 {
			p.sockets = append(ids, fmt.Sprintf("%d.0", i))
		} else {
			p.sockets = ids
		}
		if err := br.writeChannel(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(br.nc.Stats().OutBytes-out)/float64(b.N), "sent-B/op")
}

// BenchmarkClientsLargeChannel measures Clients on a node of a channel
// whose 30 000 subscribers are on another node.
func BenchmarkClientsLargeChannel(b *testing.B) {
	url := natsURL(b)
	prefix := testPrefix(b, url)
	var brs [2]*Broker
	for i := range brs {
		br, err := New(Options{URL: url, Prefix: prefix, Logger: (&testenv.Buffer{}).Logger()})
		if err != nil {
			b.Fatal(err)
		}
		if err := br.Start(func(*broker.Envelope) {}); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = br.Close() })
		brs[i] = br
	}
	const n = 30000
	ids := make([]string, 0, n)
	for range n {
		ids = append(ids, broadcast.NewSocketID())
	}
	ctx := context.Background()
	if err := brs[0].writeChannel(ctx, pending{channel: "crowd", sockets: ids}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		got, err := brs[1].Clients(ctx, "crowd")
		if err != nil || len(got) != n {
			b.Fatalf("%d clients, %v", len(got), err)
		}
	}
}
