package plugin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/velocitykode/velocity/broadcast/metrics"
)

// ErrNotReady is wrapped by Ready's error while the plugin shuts down.
var ErrNotReady = errors.New("plugin: not ready")

// metricsState is the plugin's registry and its own metrics listener.
type metricsState struct {
	registry *prometheus.Registry
	addr     net.Addr // BROADCAST_METRICS_ADDR's listener, or nil
	draining atomic.Bool
}

// setupMetrics builds the registry and, with BROADCAST_METRICS_ADDR,
// starts the metrics listener, which Shutdown stops.
func (p *Plugin) setupMetrics() error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		metrics.NewCollector(p.MetricsSnapshot),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	p.metrics.registry = reg
	if !p.cfg.Metrics || p.cfg.MetricsAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", p.cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("%w: BROADCAST_METRICS_ADDR=%q: %v", ErrInvalidConfig, p.cfg.MetricsAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", p.MetricsHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	p.metrics.addr = ln.Addr()
	p.mu.Lock()
	p.listeners = append(p.listeners, srv)
	p.mu.Unlock()
	go func() { _ = srv.Serve(ln) }() // ends with Shutdown
	return nil
}

// MetricsRegistry returns the plugin's Prometheus registry: the
// broadcasting collector (the velocity_* families) and the Go runtime
// and process collectors. An app may register its own collectors on it,
// or gather it into its own handler.
func (p *Plugin) MetricsRegistry() *prometheus.Registry { return p.metrics.registry }

// MetricsHandler serves the registry in the Prometheus exposition
// formats.
func (p *Plugin) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(p.metrics.registry, promhttp.HandlerOpts{})
}

// MetricsAddr returns the address of the metrics listener of
// BROADCAST_METRICS_ADDR, or nil when metrics are served with the other
// endpoints or not at all.
func (p *Plugin) MetricsAddr() net.Addr { return p.metrics.addr }

// MetricsSnapshot returns the counts the collector exports.
func (p *Plugin) MetricsSnapshot() metrics.Snapshot {
	s := metrics.Snapshot{Driver: p.cfg.Driver}
	hs := p.b.HookStats()
	s.Hooks = metrics.HookStats{Queued: hs.Queued, Ran: hs.Ran, Panics: hs.Panics, Dropped: hs.Dropped}
	if p.webhooks != nil {
		ws := p.webhooks.Stats()
		s.Webhooks = &metrics.WebhookStats{Queued: ws.Queued, Events: uint64(ws.Events), Requests: uint64(ws.Requests),
			Failures: uint64(ws.Failures), Retries: uint64(ws.Retries), Dropped: uint64(ws.Dropped)}
	}
	if p.server == nil {
		return s
	}
	st := p.server.Stats()
	s.Connections, s.Subscriptions, s.Channels, s.QueuedBytes = st.Connections, st.Subscriptions, st.Channels, st.QueuedBytes
	s.ConnectionAttempts = map[string]uint64{
		"opened": st.Opened, "refused": st.Rejected, "upgrade_failed": st.UpgradeFailed, "draining": st.Draining,
	}
	s.Publications = map[string]uint64{"ok": st.Published, "error": st.PublishFailed}
	s.Received, s.Deliveries, s.Dropped = st.Received, st.DeliveredByProtocol, st.Dropped
	s.BytesWritten = st.BytesWritten
	s.SlowConsumerCloses, s.Conflations, s.WriteStalls, s.ClientEvents = st.SlowClosed, st.Conflated, st.WriteStalls, st.ClientEvents
	s.RateLimited = map[string]uint64{"client_event": st.RateLimitedClientEvents, "history": st.RateLimitedHistory}
	s.Authorizations = map[string]uint64{
		"allowed": st.AuthAllowed, "denied": st.AuthDenied, "unauthenticated": st.AuthUnauthenticated,
	}
	s.Recoveries = map[string]uint64{"recovered": st.Recovered, "not_recovered": st.NotRecovered}
	s.PublishLatency = st.PublishLatency
	if st.Broker != nil {
		s.BrokerOps = st.Broker.Ops
		if p.cfg.Driver == DriverRedis {
			up := st.Broker.Connected
			s.RedisUp = &up
		}
	}
	return s
}

// Ready reports whether this node may take traffic: nil while it can
// broadcast (with the Redis driver: Redis answers, every pub/sub
// connection is up and the node's last heartbeat registered it), an
// error saying why not otherwise, and ErrNotReady once Shutdown began.
func (p *Plugin) Ready(ctx context.Context) error {
	if p.metrics.draining.Load() {
		return fmt.Errorf("%w: shutting down", ErrNotReady)
	}
	return p.Health(ctx)
}
