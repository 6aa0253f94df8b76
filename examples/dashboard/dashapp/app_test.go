package dashapp

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/velocitykode/velocity/internal/wstest"
	"github.com/velocitykode/velocity/plugin"
)

func newTestApp(t *testing.T, opts Options) *httptest.Server {
	t.Helper()
	cfg, err := plugin.FromLookup(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	opts.Config = cfg
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		srv.Close()
	})
	return srv
}

// MetricsUpdated reaches a subscriber of admin.dashboard with
// the business figures and the broadcaster's own; orders arrive as
// OrderPlaced on "orders".
func TestMetricsUpdatedAndOrders(t *testing.T) {
	srv := newTestApp(t, Options{Interval: 50 * time.Millisecond, Seed: 1})
	c := wstest.Dial(t, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	c.Subscribe(DashboardChannel, "", "")
	c.Subscribe(OrdersChannel, "", "")
	var last MetricsUpdated
	var raw map[string]any
	orders, metrics := 0, 0
	for metrics < 6 || orders == 0 {
		f := c.Read()
		switch f.Type {
		case "MetricsUpdated":
			metrics++
			if err := json.Unmarshal(f.Data, &last); err != nil {
				t.Fatal(err)
			}
			_ = json.Unmarshal(f.Data, &raw)
		case "OrderPlaced":
			orders++
			var o Order
			if err := json.Unmarshal(f.Data, &o); err != nil || o.ID == 0 || o.Amount <= 0 || o.Product == "" {
				t.Fatalf("order %s (%v)", f.Raw, err)
			}
		}
		if metrics > 400 {
			t.Fatal("no OrderPlaced in 400 updates")
		}
	}
	for _, k := range []string{"active_users", "total_orders", "revenue", "updated_at", "broadcaster"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("MetricsUpdated has no %q: %v", k, raw)
		}
	}
	b := last.Broadcaster
	if b == nil || b.Connections != 1 || b.Channels != 2 || b.DeliveriesPerSec <= 0 || b.EventsPerSec <= 0 || b.Goroutines == 0 || b.MemoryBytes == 0 {
		t.Fatalf("broadcaster figures %+v", b)
	}
	if p := b.Prometheus; p == nil || p.Connections != 1 || p.DeliveriesPerSec <= 0 || p.PublishP99Ms <= 0 {
		t.Fatalf("figures from the Prometheus registry %+v", p)
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "\nvelocity_connections 1\n") {
		t.Fatalf("GET /metrics: %d\n%s", resp.StatusCode, body)
	}
	if last.ActiveUsers <= 0 || last.TotalOrders < 1280 || last.Revenue <= 0 || time.Since(last.UpdatedAt) > time.Minute {
		t.Fatalf("business figures %+v", last)
	}
}

func TestHistoryIsBackfilledAndBounded(t *testing.T) {
	srv := newTestApp(t, Options{Interval: time.Second, History: 60, Backfill: 5 * time.Minute, Seed: 2})
	resp, err := http.Get(srv.URL + "/api/metrics/history")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h struct {
		IntervalMS int              `json:"interval_ms"`
		Samples    []MetricsUpdated `json:"samples"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	if h.IntervalMS != 1000 || len(h.Samples) < 59 || len(h.Samples) > 60 {
		t.Fatalf("history: interval %d, %d samples", h.IntervalMS, len(h.Samples))
	}
	for i := 1; i < len(h.Samples); i++ {
		a, b := h.Samples[i-1], h.Samples[i]
		if !b.UpdatedAt.After(a.UpdatedAt) || b.TotalOrders < a.TotalOrders || b.Revenue < a.Revenue {
			t.Fatalf("samples %d and %d out of order: %+v %+v", i-1, i, a, b)
		}
	}
	if h.Samples[0].Broadcaster != nil {
		t.Error("a backfilled sample claims broadcaster figures")
	}
}

func TestHistoryRing(t *testing.T) {
	h := newHistory(3)
	for i := 1; i <= 5; i++ {
		h.add(MetricsUpdated{TotalOrders: i})
	}
	got := h.all()
	if len(got) != 3 || got[0].TotalOrders != 3 || got[2].TotalOrders != 5 {
		t.Fatalf("ring = %+v", got)
	}
}
