package broker

import "time"

// Histogram is a snapshot of a latency histogram: Counts[i] durations
// were at most Bounds[i] (and above the bound before it); the last count,
// at index len(Bounds), is of the durations above every bound.
type Histogram struct {
	Bounds []time.Duration `json:"bounds"`
	Counts []uint64        `json:"counts"`
	Sum    time.Duration   `json:"sum"`
}

// Count returns the number of durations observed.
func (h Histogram) Count() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// OpStats counts one kind of operation of an instrumented broker since
// it was built: calls, the calls that failed and their durations.
type OpStats struct {
	// Op names the operation: publish, subscribe, unsubscribe, presence,
	// history.
	Op      string    `json:"op"`
	Calls   uint64    `json:"calls"`
	Errors  uint64    `json:"errors"`
	Latency Histogram `json:"latency"`
}

// Instrumented is a broker that counts its back-end operations, for
// metrics.
type Instrumented interface {
	// OpStats returns one entry per kind of operation, in a fixed order.
	OpStats() []OpStats
	// Connected reports whether the back end was reachable when last
	// seen; it makes no network call.
	Connected() bool
}
