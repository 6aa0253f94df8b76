package dashapp

import (
	"math"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// PromFigures are figures read from the plugin's Prometheus registry,
// the same values GET /metrics exports.
type PromFigures struct {
	Connections      float64 `json:"connections"`        // velocity_connections
	DeliveriesPerSec float64 `json:"deliveries_per_sec"` // rate of velocity_deliveries_total
	// PublishP99Ms is the 99th percentile of
	// velocity_publish_enqueue_duration_seconds over the last interval
	// (0 without publications in it).
	PublishP99Ms float64 `json:"publish_enqueue_p99_ms"`
}

// promSampler gathers the registry and turns counters into rates between
// two samples.
type promSampler struct {
	reg        prometheus.Gatherer
	last       time.Time
	deliveries float64
	buckets    map[float64]uint64 // cumulative publish-latency buckets at last
}

func (s *promSampler) sample(now time.Time) *PromFigures {
	fams, err := s.reg.Gather()
	if err != nil {
		return nil
	}
	f := &PromFigures{}
	var deliveries float64
	var buckets map[float64]uint64
	for _, fam := range fams {
		switch fam.GetName() {
		case "velocity_connections":
			f.Connections = fam.GetMetric()[0].GetGauge().GetValue()
		case "velocity_deliveries_total":
			for _, m := range fam.GetMetric() {
				deliveries += m.GetCounter().GetValue()
			}
		case "velocity_publish_enqueue_duration_seconds":
			buckets = cumulative(fam.GetMetric()[0].GetHistogram())
		}
	}
	if !s.last.IsZero() {
		if dt := now.Sub(s.last).Seconds(); dt > 0 {
			f.DeliveriesPerSec = round1((deliveries - s.deliveries) / dt)
		}
		f.PublishP99Ms = math.Round(quantile(0.99, buckets, s.buckets)*1e6) / 1000 // to the µs
	}
	s.last, s.deliveries, s.buckets = now, deliveries, buckets
	return f
}

func cumulative(h *dto.Histogram) map[float64]uint64 {
	out := map[float64]uint64{math.Inf(1): h.GetSampleCount()}
	for _, b := range h.GetBucket() {
		out[b.GetUpperBound()] = b.GetCumulativeCount()
	}
	return out
}

// quantile estimates the q-quantile of the observations between two
// cumulative bucket snapshots, interpolating inside the bucket as
// Prometheus's histogram_quantile does (the last finite bound for +Inf).
func quantile(q float64, now, before map[float64]uint64) float64 {
	bounds := make([]float64, 0, len(now))
	for b := range now {
		bounds = append(bounds, b)
	}
	sort.Float64s(bounds)
	if len(bounds) == 0 {
		return 0
	}
	total := float64(now[math.Inf(1)] - before[math.Inf(1)])
	if total == 0 {
		return 0
	}
	rank := q * total
	lower, prev := 0.0, 0.0
	for _, b := range bounds {
		c := float64(now[b] - before[b])
		if c >= rank {
			if math.IsInf(b, 1) {
				return lower
			}
			return lower + (b-lower)*(rank-prev)/(c-prev)
		}
		lower, prev = b, c
	}
	return lower
}
