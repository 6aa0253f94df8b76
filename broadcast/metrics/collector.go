package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/velocitykode/velocity/broadcast/broker"
)

// Collector is a prometheus.Collector of a broadcasting server's
// counts. Build it with NewCollector and register it on a registry.
type Collector struct {
	snapshot func() Snapshot
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a collector that calls snapshot once per scrape.
// snapshot must be safe to call from any goroutine.
func NewCollector(snapshot func() Snapshot) *Collector {
	return &Collector{snapshot: snapshot}
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("velocity_"+name, help, labels, nil)
}

var (
	descInfo           = desc("info", "Always 1; the driver label names the broadcast driver.", "driver")
	descConnections    = desc("connections", "Open WebSocket connections.")
	descSubscriptions  = desc("subscriptions", "Channel subscriptions of local connections.")
	descChannels       = desc("channels", "Channels with at least one local subscriber.")
	descQueued         = desc("queued_bytes", "Bytes queued for client sockets, not yet written.")
	descAttempts       = desc("connection_attempts_total", "WebSocket connection attempts by outcome.", "outcome")
	descPublications   = desc("publications_total", "Application publications handed to the broker, by outcome.", "outcome")
	descReceived       = desc("messages_received_total", "Messages the broker handed to this node for its subscribers.")
	descDeliveries     = desc("deliveries_total", "Frames queued on local subscribers, by wire protocol.", "protocol")
	descDropped        = desc("deliveries_dropped_total", "Frames a closing or slow subscriber did not take.")
	descWritten        = desc("written_bytes_total", "Bytes written to client sockets.")
	descSlow           = desc("slow_consumer_closes_total", "Connections closed as slow consumers (4408).")
	descConflations    = desc("conflations_total", "Queued events replaced by a newer event with the same conflation key.")
	descStalls         = desc("write_stalls_total", "Times a connection's writes went to a writer goroutine of its own.")
	descClientEvents   = desc("client_events_total", "Client events (whispers) relayed.")
	descRateLimited    = desc("rate_limited_total", "Requests refused with 4301, by reason.", "reason")
	descAuthorizations = desc("authorizations_total", "Private and presence subscriptions by authorization outcome.", "outcome")
	descRecoveries     = desc("recoveries_total", "Subscribes with a since position, by outcome.", "outcome")
	descPublishLatency = desc("publish_enqueue_duration_seconds", "Time from a publication on this process to its frames being queued on local subscribers.")
	descBrokerOps      = desc("broker_operations_total", "Broker back-end operations.", "driver", "op")
	descBrokerErrors   = desc("broker_errors_total", "Broker back-end operations that failed.", "driver", "op")
	descBrokerLatency  = desc("broker_operation_duration_seconds", "Duration of broker back-end operations.", "driver", "op")
	descRedisUp        = desc("redis_up", "1 while the node is connected to Redis (pub/sub and heartbeat), else 0.")
	descHookQueued     = desc("hook_queued_events", "Lifecycle events waiting for the hooks.")
	descHookRuns       = desc("hook_runs_total", "Lifecycle hook calls.")
	descHookPanics     = desc("hook_panics_total", "Lifecycle hook calls that panicked.")
	descHookDropped    = desc("hook_events_dropped_total", "Lifecycle events dropped because the hooks' queue was full.")
	descWebhookQueued  = desc("webhook_queued_events", "Webhook events waiting to be sent, over every receiver.")
	descWebhookEvents  = desc("webhook_events_total", "Webhook events a receiver accepted (2xx).")
	descWebhookReqs    = desc("webhook_requests_total", "Webhook requests a receiver accepted (2xx).")
	descWebhookFails   = desc("webhook_failures_total", "Failed webhook attempts: network errors, timeouts, non-2xx answers.")
	descWebhookRetries = desc("webhook_retries_total", "Webhook attempts after the first of a request.")
	descWebhookDropped = desc("webhook_events_dropped_total", "Webhook events given up: queue full, retries exhausted, not retryable, shutdown.")

	allDescs = []*prometheus.Desc{
		descInfo, descConnections, descSubscriptions, descChannels, descQueued, descAttempts,
		descPublications, descReceived, descDeliveries, descDropped, descWritten, descSlow,
		descConflations, descStalls, descClientEvents, descRateLimited, descAuthorizations,
		descRecoveries, descPublishLatency, descBrokerOps, descBrokerErrors, descBrokerLatency,
		descRedisUp, descHookQueued, descHookRuns, descHookPanics, descHookDropped,
		descWebhookQueued, descWebhookEvents, descWebhookReqs, descWebhookFails, descWebhookRetries, descWebhookDropped,
	}
)

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect implements prometheus.Collector: one snapshot, turned into
// constant metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.snapshot()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	byLabel := func(d *prometheus.Desc, m map[string]uint64) {
		for k, v := range m {
			counter(d, v, k)
		}
	}
	gauge(descInfo, 1, s.Driver)
	gauge(descConnections, float64(s.Connections))
	gauge(descSubscriptions, float64(s.Subscriptions))
	gauge(descChannels, float64(s.Channels))
	gauge(descQueued, float64(s.QueuedBytes))
	byLabel(descAttempts, s.ConnectionAttempts)
	byLabel(descPublications, s.Publications)
	counter(descReceived, s.Received)
	byLabel(descDeliveries, s.Deliveries)
	counter(descDropped, s.Dropped)
	counter(descWritten, s.BytesWritten)
	counter(descSlow, s.SlowConsumerCloses)
	counter(descConflations, s.Conflations)
	counter(descStalls, s.WriteStalls)
	counter(descClientEvents, s.ClientEvents)
	byLabel(descRateLimited, s.RateLimited)
	byLabel(descAuthorizations, s.Authorizations)
	byLabel(descRecoveries, s.Recoveries)
	ch <- histogram(descPublishLatency, s.PublishLatency)
	for _, op := range s.BrokerOps {
		counter(descBrokerOps, op.Calls, s.Driver, op.Op)
		counter(descBrokerErrors, op.Errors, s.Driver, op.Op)
		ch <- histogram(descBrokerLatency, op.Latency, s.Driver, op.Op)
	}
	if s.RedisUp != nil {
		up := 0.0
		if *s.RedisUp {
			up = 1
		}
		gauge(descRedisUp, up)
	}
	gauge(descHookQueued, float64(s.Hooks.Queued))
	counter(descHookRuns, s.Hooks.Ran)
	counter(descHookPanics, s.Hooks.Panics)
	counter(descHookDropped, s.Hooks.Dropped)
	if w := s.Webhooks; w != nil {
		gauge(descWebhookQueued, float64(w.Queued))
		counter(descWebhookEvents, w.Events)
		counter(descWebhookReqs, w.Requests)
		counter(descWebhookFails, w.Failures)
		counter(descWebhookRetries, w.Retries)
		counter(descWebhookDropped, w.Dropped)
	}
}

// histogram turns a snapshot into a constant histogram: cumulative
// buckets in seconds, the count being the sum of the buckets so that the
// two always agree.
func histogram(d *prometheus.Desc, h broker.Histogram, labels ...string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(h.Bounds))
	var cum uint64
	for i, b := range h.Bounds {
		if i < len(h.Counts) {
			cum += h.Counts[i]
		}
		buckets[b.Seconds()] = cum
	}
	m, err := prometheus.NewConstHistogram(d, h.Count(), h.Sum.Seconds(), buckets, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return m
}
