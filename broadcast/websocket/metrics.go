package websocket

import (
	"errors"
	"slices"
	"sync/atomic"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/internal/latency"
)

// serverMetrics are the counters kept for metrics beyond the server's
// historical Stats, updated with atomics where things happen.
type serverMetrics struct {
	opened, upgradeFailed, draining     atomic.Uint64 // connection attempts by outcome (rejected: Server.stats)
	published, publishFailed            atomic.Uint64 // application publications by outcome
	received                            atomic.Uint64 // messages the broker handed to this node
	authAllowed, authDenied, authUnauth atomic.Uint64 // private and presence subscriptions decided
	limitedClientEvents, limitedHistory atomic.Uint64 // requests refused with 4301
	publishLatency                      latency.Histogram
}

func (m *serverMetrics) countPublish(err error) {
	if err != nil {
		m.publishFailed.Add(1)
		return
	}
	m.published.Add(1)
}

func (m *serverMetrics) countAuth(perr *ProtocolError) {
	switch {
	case perr == nil:
		m.authAllowed.Add(1)
	case errors.Is(perr, broadcast.ErrUnauthenticated):
		m.authUnauth.Add(1)
	default:
		m.authDenied.Add(1)
	}
}

// MetricStats are the counts Stats reports for metrics; see the metrics
// documentation for what each one means.
type MetricStats struct {
	// Opened counts connections that were upgraded and stayed (sent
	// their connection frame); UpgradeFailed the upgrade requests that
	// failed the WebSocket handshake; Draining the upgrade requests
	// refused with 503 during Shutdown. Rejected counts the upgraded
	// connections closed at once.
	Opened        uint64 `json:"opened"`
	UpgradeFailed uint64 `json:"upgrade_failed"`
	Draining      uint64 `json:"draining"`
	// Published counts the application publications (Publish) the
	// broker accepted, PublishFailed those it failed; Received the
	// messages the broker handed to this node for its subscribers.
	Published     uint64 `json:"published"`
	PublishFailed uint64 `json:"publish_failed"`
	Received      uint64 `json:"received"`
	// DeliveredByProtocol splits Delivered by wire protocol.
	DeliveredByProtocol map[string]uint64 `json:"delivered_by_protocol"`
	// AuthAllowed, AuthDenied and AuthUnauthenticated count private and
	// presence subscriptions by outcome of their authorization.
	AuthAllowed         uint64 `json:"auth_allowed"`
	AuthDenied          uint64 `json:"auth_denied"`
	AuthUnauthenticated uint64 `json:"auth_unauthenticated"`
	// RateLimitedClientEvents and RateLimitedHistory count requests
	// refused with 4301.
	RateLimitedClientEvents uint64 `json:"rate_limited_client_events"`
	RateLimitedHistory      uint64 `json:"rate_limited_history"`
	// BytesWritten counts the bytes written to client sockets;
	// QueuedBytes is what is queued for them now (summed over the open
	// connections, one connection lock at a time: Stats costs a little
	// per connection).
	BytesWritten uint64 `json:"bytes_written"`
	QueuedBytes  int    `json:"queued_bytes"`
	// PublishLatency is the time from Publish on this process to the
	// frames being queued on its local subscribers, once per message. Only
	// messages published on this process through a broker that hands them
	// over in process (the default memory broker) are measured.
	PublishLatency broker.Histogram `json:"publish_latency"`
	// Broker is the broker's own counts when it is a
	// broker.Instrumented (the Redis broker), else nil.
	Broker *BrokerStats `json:"broker,omitempty"`
}

// BrokerStats are an instrumented broker's counts.
type BrokerStats struct {
	Ops       []broker.OpStats `json:"ops"`
	Connected bool             `json:"connected"`
}

func (s *Server) metricStats() MetricStats {
	m := &s.metrics
	counts, sum := m.publishLatency.Load()
	st := MetricStats{
		Opened:                  m.opened.Load(),
		UpgradeFailed:           m.upgradeFailed.Load(),
		Draining:                m.draining.Load(),
		Published:               m.published.Load(),
		PublishFailed:           m.publishFailed.Load(),
		Received:                m.received.Load(),
		DeliveredByProtocol:     make(map[string]uint64, len(s.protocols)),
		AuthAllowed:             m.authAllowed.Load(),
		AuthDenied:              m.authDenied.Load(),
		AuthUnauthenticated:     m.authUnauth.Load(),
		RateLimitedClientEvents: m.limitedClientEvents.Load(),
		RateLimitedHistory:      m.limitedHistory.Load(),
		BytesWritten:            s.pool.BytesWritten(),
		QueuedBytes:             s.queuedBytes(),
		PublishLatency:          broker.Histogram{Bounds: slices.Clone(latency.Bounds[:]), Counts: counts[:], Sum: sum},
	}
	for i, n := range s.hub.DeliveredBy() {
		st.DeliveredByProtocol[s.protocols[i].Name()] = n
	}
	if ib, ok := s.broker.(broker.Instrumented); ok {
		st.Broker = &BrokerStats{Ops: ib.OpStats(), Connected: ib.Connected()}
	}
	return st
}

// queuedBytes sums what is queued on every open connection, taking one
// connection's lock at a time and never the server's with it.
func (s *Server) queuedBytes() int {
	s.mu.Lock()
	conns := make([]*client, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	n := 0
	for _, c := range conns {
		n += c.Queued()
	}
	return n
}
