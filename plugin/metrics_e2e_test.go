package plugin_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	gorillaws "github.com/gorilla/websocket"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/velocitykode/velocity/broadcast/websocket"
	"github.com/velocitykode/velocity/internal/wstest"
	"github.com/velocitykode/velocity/plugin"
)

// families scrapes url over HTTP and parses the text exposition format.
func families(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	return fams
}

// value returns the value of name's series with the given labels
// (label=value pairs), failing when there is none.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no family %s", name)
	}
next:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue()
		case dto.MetricType_HISTOGRAM:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

var wantTypes = map[string]dto.MetricType{
	"velocity_info":                             dto.MetricType_GAUGE,
	"velocity_connections":                      dto.MetricType_GAUGE,
	"velocity_subscriptions":                    dto.MetricType_GAUGE,
	"velocity_channels":                         dto.MetricType_GAUGE,
	"velocity_queued_bytes":                     dto.MetricType_GAUGE,
	"velocity_connection_attempts_total":        dto.MetricType_COUNTER,
	"velocity_publications_total":               dto.MetricType_COUNTER,
	"velocity_messages_received_total":          dto.MetricType_COUNTER,
	"velocity_deliveries_total":                 dto.MetricType_COUNTER,
	"velocity_deliveries_dropped_total":         dto.MetricType_COUNTER,
	"velocity_written_bytes_total":              dto.MetricType_COUNTER,
	"velocity_slow_consumer_closes_total":       dto.MetricType_COUNTER,
	"velocity_conflations_total":                dto.MetricType_COUNTER,
	"velocity_write_stalls_total":               dto.MetricType_COUNTER,
	"velocity_client_events_total":              dto.MetricType_COUNTER,
	"velocity_rate_limited_total":               dto.MetricType_COUNTER,
	"velocity_authorizations_total":             dto.MetricType_COUNTER,
	"velocity_recoveries_total":                 dto.MetricType_COUNTER,
	"velocity_publish_enqueue_duration_seconds": dto.MetricType_HISTOGRAM,
	"go_goroutines":                             dto.MetricType_GAUGE,
}

// The metrics of a real plugin on a real Echo server, scraped over HTTP,
// move by what clients and publishers did: N connections opened, M
// publications to K subscribers delivered M×K times, one slow consumer
// closed, one subscription refused by authorization.
func TestMetricsCountWhatHappened(t *testing.T) {
	t.Parallel()
	s := newStack(t, map[string]string{
		"BROADCAST_METRICS": "true",
		// One frame over the hard cap closes its connection as slow.
		"WEBSOCKET_MAX_QUEUE_BYTES":       "1024",
		"WEBSOCKET_MAX_QUEUE_BURST_BYTES": "1024",
		"BROADCAST_CLIENT_EVENT_RATE":     "1",
	})
	url := s.srv.URL + "/metrics"
	before := families(t, url)
	for name, typ := range wantTypes {
		if f := before[name]; f == nil || f.GetType() != typ {
			t.Errorf("family %s: %v, want type %v", name, f, typ)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	if v := value(t, before, "velocity_info", "driver", "websocket"); v != 1 {
		t.Fatalf("velocity_info = %v", v)
	}

	const n, m, k = 5, 4, 3
	clients := make([]*wstest.Client, n)
	for i := range clients {
		clients[i] = s.dial("1")
	}
	for _, c := range clients[:k] {
		if f := c.Subscribe("orders", "", ""); f.Type != "subscription_succeeded" {
			t.Fatalf("subscribe: %s", f.Raw)
		}
	}
	pusher := dialPusher(t, s, "orders")
	for i := range m {
		if err := s.b.Channel("orders").Emit("Shipped", map[string]int{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range clients[:k] {
		for range m {
			c.Expect("Shipped")
		}
	}
	for range m {
		pusher.expect("Shipped")
	}
	slow := clients[k]
	slow.Subscribe("firehose", "", "")
	if err := s.b.Channel("firehose").Emit("Big", strings.Repeat("x", 4096)); err != nil {
		t.Fatal(err)
	}
	if code := slow.ExpectClose(); code != websocket.CodeSlowConsumer {
		t.Fatalf("the slow consumer closed with %d", code)
	}
	refused := clients[k+1]
	if f := refused.Subscribe("private-user.2", "", ""); f.Type != "subscription_error" {
		t.Fatalf("another user's channel: %s", f.Raw)
	}
	if f := refused.Subscribe("private-user.1", "", ""); f.Type != "subscription_succeeded" {
		t.Fatalf("own channel: %s", f.Raw)
	}
	// Whispers over one a second: the first is relayed, the next ones
	// (unless a second passed) refused with 4301.
	const whispers = 3
	for range whispers {
		refused.Send(map[string]any{"type": "client-typing", "channel": "private-user.1", "data": 1})
	}
	refused.Send(`{"type":"ping"}`)
	limited := 0
	for f := refused.Read(); f.Type != "pong"; f = refused.Read() {
		if f.Type != "error" || f.Code() != websocket.CodeRateLimited {
			t.Fatalf("answer to a whisper: %s", f.Raw)
		}
		limited++
	}
	if limited == 0 {
		t.Fatal("no whisper was rate limited")
	}

	var after map[string]*dto.MetricFamily
	wstest.Eventually(t, "the slow consumer's connection released", func() bool {
		after = families(t, url)
		return value(t, after, "velocity_connections") == n
	})
	delta := func(name string, labels ...string) float64 {
		return value(t, after, name, labels...) - value(t, before, name, labels...)
	}
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"velocity_connection_attempts_total", []string{"outcome", "opened"}, n + 1},
		{"velocity_connection_attempts_total", []string{"outcome", "refused"}, 0},
		{"velocity_deliveries_total", []string{"protocol", "native"}, m * k},
		{"velocity_deliveries_total", []string{"protocol", "pusher"}, m},
		{"velocity_deliveries_dropped_total", nil, 1},
		{"velocity_publications_total", []string{"outcome", "ok"}, m + 1},
		{"velocity_messages_received_total", nil, float64(m + 1 + whispers - limited)},
		{"velocity_client_events_total", nil, float64(whispers - limited)},
		{"velocity_rate_limited_total", []string{"reason", "client_event"}, float64(limited)},
		{"velocity_rate_limited_total", []string{"reason", "history"}, 0},
		{"velocity_slow_consumer_closes_total", nil, 1},
		{"velocity_authorizations_total", []string{"outcome", "denied"}, 1},
		{"velocity_authorizations_total", []string{"outcome", "allowed"}, 1},
		{"velocity_publish_enqueue_duration_seconds", nil, m + 1},
	}
	for _, c := range checks {
		if got := delta(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v moved by %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := value(t, after, "velocity_queued_bytes"); got != 0 {
		t.Errorf("velocity_queued_bytes = %v with every client read up", got)
	}
	if got := value(t, after, "velocity_subscriptions"); got != k+2 {
		t.Errorf("velocity_subscriptions = %v, want %d", got, k+2)
	}
	if got := value(t, after, "velocity_channels"); got != 2 {
		t.Errorf("velocity_channels = %v, want 2 (orders, private-user.1)", got)
	}
	// Every client read its connection frame, subscription answers and
	// events: bytes were written.
	if got := delta("velocity_written_bytes_total"); got < m*k*20 {
		t.Errorf("velocity_written_bytes_total moved by %v, want at least %d", got, m*k*20)
	}
	if _, ok := after["velocity_redis_up"]; ok {
		t.Error("velocity_redis_up without the Redis driver")
	}
}

// pusherClient is a Pusher protocol connection, as pusher-js speaks it.
type pusherClient struct {
	t  *testing.T
	ws *gorillaws.Conn
}

// dialPusher connects with the Pusher protocol and subscribes to channel.
func dialPusher(t *testing.T, s *stack, channel string) *pusherClient {
	t.Helper()
	u := "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/app/velocity-key?protocol=7"
	ws, _, err := gorillaws.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	c := &pusherClient{t: t, ws: ws}
	c.expect("pusher:connection_established")
	if err := ws.WriteJSON(map[string]any{"event": "pusher:subscribe", "data": map[string]string{"channel": channel}}); err != nil {
		t.Fatal(err)
	}
	c.expect("pusher_internal:subscription_succeeded")
	return c
}

func (c *pusherClient) expect(event string) {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(wstest.ReadTimeout))
	var f struct {
		Event string `json:"event"`
	}
	if err := c.ws.ReadJSON(&f); err != nil || f.Event != event {
		c.t.Fatalf("pusher client: got %q (%v), want %q", f.Event, err, event)
	}
}

// Without BROADCAST_METRICS there is no /metrics route.
func TestMetricsOffByDefault(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	resp, err := http.Get(s.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /metrics without BROADCAST_METRICS: %d, want 404", resp.StatusCode)
	}
}

// With BROADCAST_METRICS_ADDR the metrics are served on their own
// listener, not with the app's endpoints, and Shutdown stops it.
func TestMetricsOwnListener(t *testing.T) {
	t.Parallel()
	s := newStack(t, map[string]string{"BROADCAST_METRICS": "true", "BROADCAST_METRICS_ADDR": "127.0.0.1:0"})
	addr := s.p.MetricsAddr()
	if addr == nil {
		t.Fatal("no metrics listener")
	}
	s.dial("")
	fams := families(t, "http://"+addr.String()+"/metrics")
	if v := value(t, fams, "velocity_connections"); v != 1 {
		t.Fatalf("velocity_connections = %v, want 1", v)
	}
	resp, err := http.Get(s.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /metrics on the app with a metrics listener: %d, want 404", resp.StatusCode)
	}
}

// A bad BROADCAST_METRICS or BROADCAST_METRICS_ADDR fails start-up
// naming the variable, and so does an address that cannot be bound.
func TestMetricsConfigErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		env      map[string]string
		variable string
	}{
		{map[string]string{"BROADCAST_METRICS": "yes please"}, "BROADCAST_METRICS"},
		{map[string]string{"BROADCAST_METRICS": "true", "BROADCAST_METRICS_ADDR": "9090"}, "BROADCAST_METRICS_ADDR"},
		{map[string]string{"BROADCAST_METRICS": "true", "BROADCAST_METRICS_ADDR": "127.0.0.1:http-ish"}, "BROADCAST_METRICS_ADDR"},
		{map[string]string{"BROADCAST_METRICS": "true", "BROADCAST_METRICS_ADDR": "127.0.0.1:70000"}, "BROADCAST_METRICS_ADDR"},
		{map[string]string{"BROADCAST_METRICS_ADDR": "127.0.0.1:9090"}, "BROADCAST_METRICS_ADDR"},
	}
	for _, tc := range cases {
		_, err := plugin.FromLookup(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
		if !errors.Is(err, plugin.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.variable) {
			t.Errorf("%v: %v, want an error naming %s", tc.env, err, tc.variable)
		}
	}

	// An address already in use is only found at start-up.
	first := newStack(t, map[string]string{"BROADCAST_METRICS": "true", "BROADCAST_METRICS_ADDR": "127.0.0.1:0"})
	taken := first.p.MetricsAddr().String()
	cfg, err := plugin.FromLookup(func(k string) (string, bool) {
		v, ok := map[string]string{"BROADCAST_METRICS": "true", "BROADCAST_METRICS_ADDR": taken}[k]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := plugin.New(cfg)
	if err == nil {
		_ = p.Shutdown(context.Background())
		t.Fatalf("a second plugin started with BROADCAST_METRICS_ADDR=%s in use", taken)
	}
	if !strings.Contains(err.Error(), "BROADCAST_METRICS_ADDR") {
		t.Fatalf("start-up error %v does not name BROADCAST_METRICS_ADDR", err)
	}
}

// The Redis driver's node shows Redis up and counts its broker
// operations.
func TestMetricsRedisDriver(t *testing.T) {
	t.Parallel()
	env := redisEnv(t)
	env["BROADCAST_METRICS"] = "true"
	s := newStack(t, env)
	c := s.dial("")
	c.Subscribe("orders", "", "")
	if err := s.b.Channel("orders").Emit("Shipped", 1); err != nil {
		t.Fatal(err)
	}
	c.Expect("Shipped")
	fams := families(t, s.srv.URL+"/metrics")
	if v := value(t, fams, "velocity_redis_up"); v != 1 {
		t.Fatalf("velocity_redis_up = %v, want 1", v)
	}
	if v := value(t, fams, "velocity_info", "driver", "redis"); v != 1 {
		t.Fatalf("velocity_info{driver=redis} = %v", v)
	}
	for _, op := range []string{"publish", "subscribe"} {
		if v := value(t, fams, "velocity_broker_operations_total", "driver", "redis", "op", op); v < 1 {
			t.Errorf("broker %s operations: %v, want at least 1", op, v)
		}
		if v := value(t, fams, "velocity_broker_operation_duration_seconds", "driver", "redis", "op", op); v < 1 {
			t.Errorf("broker %s durations observed: %v, want at least 1", op, v)
		}
		if v := value(t, fams, "velocity_broker_errors_total", "driver", "redis", "op", op); v != 0 {
			t.Errorf("broker %s errors: %v, want 0", op, v)
		}
	}
	if f := fams["velocity_broker_operation_duration_seconds"]; f.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("broker latency type %v", f.GetType())
	}
	if v := value(t, fams, "velocity_deliveries_total", "protocol", "native"); v != 1 {
		t.Fatalf("deliveries through Redis: %v, want 1", v)
	}
}

// probe GETs path and returns the status and the decoded JSON body.
func probe(t *testing.T, s *stack, path string) (int, map[string]string) {
	t.Helper()
	resp, err := http.Get(s.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := map[string]string{}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET %s: %d with a body that is not JSON: %v", path, resp.StatusCode, err)
	}
	return resp.StatusCode, body
}

// With the websocket driver the node is ready as soon as it serves.
func TestReadinessWithoutBroker(t *testing.T) {
	t.Parallel()
	s := newStack(t, nil)
	for _, path := range []string{"/broadcasting/health/live", "/broadcasting/health/ready"} {
		if code, body := probe(t, s, path); code != http.StatusOK || body["status"] != "ok" {
			t.Fatalf("GET %s: %d %v", path, code, body)
		}
	}
}
