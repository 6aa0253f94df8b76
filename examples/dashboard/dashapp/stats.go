package dashapp

import (
	"context"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"time"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/websocket"
)

// countingDriver wraps the broadcaster's driver to count published
// events (every Emit, Dispatch and HTTP-API publish goes through it).
type countingDriver struct {
	broadcast.Driver
	pub    broadcast.Publisher
	events atomic.Uint64
}

// countEvents puts a countingDriver in front of b's driver. The driver
// was already bound to b by plugin.New; the wrapper is not an
// AuthorizerBinder, so SetDriver does not bind it again.
func countEvents(b *broadcast.Broadcaster) *countingDriver {
	d := &countingDriver{Driver: b.Driver()}
	d.pub, _ = d.Driver.(broadcast.Publisher)
	b.SetDriver(d)
	return d
}

// Publish counts and forwards.
func (d *countingDriver) Publish(ctx context.Context, m *broadcast.Message) error {
	d.events.Add(1)
	if d.pub != nil {
		return d.pub.Publish(ctx, m)
	}
	if m.Except != "" {
		return d.Driver.BroadcastExcept(m.Channels, m.Event, m.Data, m.Except)
	}
	return d.Driver.Broadcast(m.Channels, m.Event, m.Data)
}

// sampler turns counters into per-second rates between two samples.
type sampler struct {
	srv      *websocket.Server // nil for the log and null drivers
	prom     *promSampler
	counter  *countingDriver
	last     time.Time
	events   uint64
	delivers uint64
	mem      []metrics.Sample
}

func newSampler(srv *websocket.Server, c *countingDriver) *sampler {
	return &sampler{srv: srv, counter: c, mem: []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}}
}

// sample reads the figures now.
func (s *sampler) sample(now time.Time) *Figures {
	f := &Figures{}
	events := s.counter.events.Load()
	var delivered uint64
	if s.srv != nil {
		st := s.srv.Stats()
		f.Connections, f.Channels, f.Subscriptions = st.Connections, st.Channels, st.Subscriptions
		f.Dropped, f.SlowClients, f.Conflated = st.Dropped, st.SlowClosed, st.Conflated
		delivered = st.Delivered
	}
	if !s.last.IsZero() {
		if dt := now.Sub(s.last).Seconds(); dt > 0 {
			f.EventsPerSec = round1(float64(events-s.events) / dt)
			f.DeliveriesPerSec = round1(float64(delivered-s.delivers) / dt)
		}
	}
	s.last, s.events, s.delivers = now, events, delivered
	f.Goroutines = runtime.NumGoroutine()
	metrics.Read(s.mem) // cheap, unlike runtime.ReadMemStats
	f.MemoryBytes = s.mem[0].Value.Uint64() - s.mem[1].Value.Uint64()
	if s.prom != nil {
		f.Prometheus = s.prom.sample(now)
	}
	return f
}

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }
