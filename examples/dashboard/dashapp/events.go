package dashapp

import "time"

// MetricsUpdated is the payload of the MetricsUpdated event: the
// simulated business figures plus the broadcaster's own.
type MetricsUpdated struct {
	ActiveUsers int       `json:"active_users"`
	TotalOrders int       `json:"total_orders"`
	Revenue     float64   `json:"revenue"`
	UpdatedAt   time.Time `json:"updated_at"`
	// Broadcaster is nil in the backfilled history (see Options.Backfill).
	Broadcaster *Figures `json:"broadcaster,omitempty"`
}

// Figures are live figures of the broadcaster and the process.
type Figures struct {
	Connections      int     `json:"connections"`
	Channels         int     `json:"channels"`
	Subscriptions    int     `json:"subscriptions"`
	EventsPerSec     float64 `json:"events_per_sec"`
	DeliveriesPerSec float64 `json:"deliveries_per_sec"`
	Dropped          uint64  `json:"dropped"`
	SlowClients      uint64  `json:"slow_clients"`
	Conflated        uint64  `json:"conflated"` // events replaced by a newer one with the same key
	Goroutines       int     `json:"goroutines"`
	MemoryBytes      uint64  `json:"memory_bytes"`
	// Prometheus are figures read from the metrics registry.
	Prometheus *PromFigures `json:"prometheus,omitempty"`
}

// Order is the payload of OrderPlaced on the "orders" channel.
type Order struct {
	ID       int       `json:"id"`
	Product  string    `json:"product"`
	Amount   float64   `json:"amount"`
	PlacedAt time.Time `json:"placed_at"`
}
