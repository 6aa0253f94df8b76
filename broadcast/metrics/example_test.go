package metrics_test

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/velocitykode/velocity/broadcast/metrics"
)

// A collector is registered on the application's own registry and
// served with promhttp; the snapshot function usually reads the server's
// Stats (the plugin does this for BROADCAST_METRICS).
func ExampleNewCollector() {
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(func() metrics.Snapshot {
		return metrics.Snapshot{Driver: "websocket", Connections: 3}
	}))
	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	fams, _ := reg.Gather()
	for _, f := range fams {
		if f.GetName() == "velocity_connections" {
			fmt.Println(f.GetName(), f.GetMetric()[0].GetGauge().GetValue())
		}
	}
	// Output: velocity_connections 3
}
