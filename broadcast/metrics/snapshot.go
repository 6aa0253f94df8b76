package metrics

import "github.com/velocitykode/velocity/broadcast/broker"

// Snapshot is every count a Collector exports, read at scrape time.
// Counters are totals since the server started; maps are keyed by the
// value of the family's label and should always hold the same keys, so
// that the series exist from the first scrape.
type Snapshot struct {
	// Driver is the broadcast driver (websocket or redis), the driver
	// label of the broker families and of velocity_info.
	Driver string

	Connections   int // open connections
	Subscriptions int // channel subscriptions of local connections
	Channels      int // channels with a local subscriber
	QueuedBytes   int // bytes queued for client sockets now

	ConnectionAttempts map[string]uint64 // by outcome: opened, refused, upgrade_failed, draining
	Publications       map[string]uint64 // by outcome: ok, error
	Received           uint64            // messages handed to this node for local delivery
	Deliveries         map[string]uint64 // frames queued on subscribers, by protocol
	Dropped            uint64            // frames a closing or slow subscriber did not take
	BytesWritten       uint64            // bytes written to client sockets
	SlowConsumerCloses uint64
	Conflations        uint64
	WriteStalls        uint64
	ClientEvents       uint64
	RateLimited        map[string]uint64 // refusals (4301) by reason: client_event, history
	Authorizations     map[string]uint64 // by outcome: allowed, denied, unauthenticated
	Recoveries         map[string]uint64 // subscribes with a since, by outcome: recovered, not_recovered

	// PublishLatency is the publish-to-enqueue time, once per message.
	PublishLatency broker.Histogram
	// BrokerOps are the broker's operations, when it counts them.
	BrokerOps []broker.OpStats
	// RedisUp is whether the Redis driver's node is connected to Redis;
	// nil for another driver (no velocity_redis_up series).
	RedisUp *bool

	// Hooks counts the lifecycle hooks' events (broadcast.HookStats).
	Hooks HookStats
	// Webhooks holds the webhook counters; nil without webhooks (no
	// velocity_webhook_ series).
	Webhooks *WebhookStats
}

// HookStats are the lifecycle hooks' counters.
type HookStats struct {
	Queued               int
	Ran, Panics, Dropped uint64
}

// WebhookStats are the webhook sender's counters, summed over its
// receivers.
type WebhookStats struct {
	Queued                                       int
	Events, Requests, Failures, Retries, Dropped uint64
}
