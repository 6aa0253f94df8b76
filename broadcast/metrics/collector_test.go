package metrics_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/velocitykode/velocity/broadcast/broker"
	"github.com/velocitykode/velocity/broadcast/metrics"
)

func gather(t *testing.T, s metrics.Snapshot) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.NewCollector(func() metrics.Snapshot { return s }))
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]*dto.MetricFamily, len(fams))
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

// Histograms are exported cumulative, in seconds, with a count that
// equals the +Inf bucket; the Redis gauge appears only when set.
func TestCollectorHistogramsAndOptionalFamilies(t *testing.T) {
	t.Parallel()
	h := broker.Histogram{
		Bounds: []time.Duration{time.Millisecond, 10 * time.Millisecond},
		Counts: []uint64{2, 3, 1},
		Sum:    1500 * time.Millisecond,
	}
	fams := gather(t, metrics.Snapshot{Driver: "websocket", PublishLatency: h,
		Deliveries: map[string]uint64{"native": 4, "pusher": 0}})
	lat := fams["velocity_publish_enqueue_duration_seconds"].GetMetric()[0].GetHistogram()
	if lat.GetSampleCount() != 6 || lat.GetSampleSum() != 1.5 {
		t.Fatalf("count %d sum %v, want 6 and 1.5", lat.GetSampleCount(), lat.GetSampleSum())
	}
	b := lat.GetBucket()
	if len(b) != 2 || b[0].GetUpperBound() != 0.001 || b[0].GetCumulativeCount() != 2 || b[1].GetCumulativeCount() != 5 {
		t.Fatalf("buckets %v, want ≤0.001: 2, ≤0.01: 5", b)
	}
	if _, ok := fams["velocity_redis_up"]; ok {
		t.Fatal("velocity_redis_up exported without a Redis driver")
	}
	if got := len(fams["velocity_deliveries_total"].GetMetric()); got != 2 {
		t.Fatalf("%d delivery series, want one per protocol", got)
	}

	up := false
	fams = gather(t, metrics.Snapshot{Driver: "redis", RedisUp: &up,
		BrokerOps: []broker.OpStats{{Op: "publish", Calls: 3, Errors: 1, Latency: h}}})
	if v := fams["velocity_redis_up"].GetMetric()[0].GetGauge().GetValue(); v != 0 {
		t.Fatalf("velocity_redis_up %v while down", v)
	}
	ops := fams["velocity_broker_operations_total"].GetMetric()[0]
	if ops.GetCounter().GetValue() != 3 || len(ops.GetLabel()) != 2 {
		t.Fatalf("broker operations %v", ops)
	}
}
