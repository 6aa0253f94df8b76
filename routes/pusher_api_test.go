package routes

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/velocitykode/velocity/broadcast/signature"
)

func TestPusherAPITriggerReachesBothProtocols(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t, "/pusher", 0)
	p, p2 := s.pusher(t, "orders"), s.pusher(t, "orders")
	n := s.native(t, "orders")

	// node SDK shape: "channels", data JSON-encoded into a string.
	status, out := s.post(t, "/apps/3/events", `{"name":"OrderShipped","channels":["orders"],"data":"{\"id\":1,\"tags\":[\"a\"]}"}`)
	if status != 200 || len(out) != 0 {
		t.Fatalf("trigger: %d %v", status, out)
	}
	for _, c := range []*wsClient{p, p2} {
		if m := c.want("event", "OrderShipped"); m["data"] != `{"id":1,"tags":["a"]}` || m["channel"] != "orders" {
			t.Fatalf("pusher got %v", m)
		}
	}
	if m := n.want("type", "OrderShipped"); !reflect.DeepEqual(m["data"], map[string]any{"id": json.Number("1"), "tags": []any{"a"}}) {
		t.Fatalf("native got %v", m)
	}

	// PHP SDK shape: "channel"; a non-JSON string stays a string; the
	// socket_id connection is left out.
	body := fmt.Sprintf(`{"name":"App\\Events\\Note","channel":"orders","data":"hello \"world\"","socket_id":%q}`, p.id)
	if status, out := s.post(t, "/apps/3/events", body); status != 200 || len(out) != 0 {
		t.Fatalf("trigger with socket_id: %d %v", status, out)
	}
	if m := p2.want("event", `App\Events\Note`); m["data"] != `hello "world"` {
		t.Fatalf("pusher got %v", m)
	}
	if m := n.want("type", `App\Events\Note`); m["data"] != `hello "world"` {
		t.Fatalf("native got %v", m)
	}
	p.quiet() // excluded

	status, out = s.post(t, "/apps/3/events", `{"name":"X","channels":["orders","empty"],"data":"1","info":"subscription_count,user_count"}`)
	want := map[string]any{"channels": map[string]any{"orders": map[string]any{"subscription_count": 3.0}, "empty": map[string]any{"subscription_count": 0.0}}}
	if status != 200 || !reflect.DeepEqual(out, want) {
		t.Fatalf("trigger with info: %d %v", status, out)
	}
}

// On an Echo group the Pusher endpoints answer under the group's prefix,
// and requests are signed as SDKs sign them: over the path from /apps on.
func TestPusherAPIOnGroup(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"", "/pusher"} {
		s := newAPIStackOn(t, "/t/:tenant", prefix, 0)
		s.url = strings.Replace(s.url, ":tenant", "acme", 1)
		p := s.pusher(t, "orders")
		n := s.native(t, "orders")
		if status, out := s.post(t, "/apps/3/events", `{"name":"E","channels":["orders"],"data":"{}"}`); status != 200 || len(out) != 0 {
			t.Fatalf("prefix %q: trigger: %d %v", prefix, status, out)
		}
		p.want("event", "E")
		n.want("type", "E")
		want := map[string]any{"channels": map[string]any{"orders": map[string]any{}}}
		if status, out := s.get(t, "/apps/3/channels", nil); status != 200 || !reflect.DeepEqual(out, want) {
			t.Fatalf("prefix %q: channels: %d %v", prefix, status, out)
		}
		// A signature over the path with the group's prefix is refused.
		q := signature.SignRequest(apiApp, http.MethodGet, "/t/acme"+prefix+"/apps/3/channels", nil, nil, time.Now())
		resp, err := http.Get(s.url + prefix + "/apps/3/channels?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("prefix %q: signed with the group's prefix: %d, want 401", prefix, resp.StatusCode)
		}
	}
}

func TestPusherAPIBatch(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t, "", 0)
	p := s.pusher(t, "a", "b")
	status, out := s.post(t, "/apps/3/batch_events", `{"batch":[{"name":"E1","channel":"a","data":"{}"},{"name":"E2","channel":"b","data":"x","info":"subscription_count"}]}`)
	want := map[string]any{"batch": []any{map[string]any{}, map[string]any{"subscription_count": 1.0}}}
	if status != 200 || !reflect.DeepEqual(out, want) {
		t.Fatalf("batch: %d %v", status, out)
	}
	p.want("event", "E1")
	p.want("event", "E2")

	// One bad event refuses the whole batch before anything is sent.
	status, _ = s.post(t, "/apps/3/batch_events", `{"batch":[{"name":"E3","channel":"a","data":"{}"},{"name":"E4","channel":"a","data":{}}]}`)
	if status != 400 {
		t.Fatalf("batch with a bad event: %d", status)
	}
	p.quiet()
}

func TestPusherAPIChannelQueries(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t, "", 0)
	s.pusher(t, "news")
	s.native(t, "news")
	for _, uid := range []string{"1", "1", "2"} {
		c := s.dial(t, "/app/"+apiApp.Key)
		cd := `{"user_id":"` + uid + `"}`
		auth := signature.ChannelAuth(apiApp, c.id, "presence-room", cd)
		c.send(fmt.Sprintf(`{"event":"pusher:subscribe","data":{"channel":"presence-room","auth":%q,"channel_data":%q}}`, auth, cd))
		c.want("event", "pusher_internal:subscription_succeeded")
	}
	cases := []struct {
		path  string
		query url.Values
		want  map[string]any
	}{
		{"/apps/3/channels", nil, map[string]any{"channels": map[string]any{"news": map[string]any{}, "presence-room": map[string]any{}}}},
		{"/apps/3/channels", url.Values{"filter_by_prefix": {"presence-"}, "info": {"user_count"}}, map[string]any{"channels": map[string]any{"presence-room": map[string]any{"user_count": 2.0}}}},
		{"/apps/3/channels", url.Values{"filter_by_prefix": {"nothing-"}}, map[string]any{"channels": map[string]any{}}},
		{"/apps/3/channels/news", url.Values{"info": {"subscription_count"}}, map[string]any{"occupied": true, "subscription_count": 2.0}},
		{"/apps/3/channels/presence-room", url.Values{"info": {"user_count"}}, map[string]any{"occupied": true, "user_count": 2.0}},
		{"/apps/3/channels/idle", nil, map[string]any{"occupied": false}},
		{"/apps/3/channels/presence-room/users", nil, map[string]any{"users": []any{map[string]any{"id": "1"}, map[string]any{"id": "2"}}}},
	}
	for _, tc := range cases {
		status, out := s.get(t, tc.path, tc.query)
		if status != 200 || !reflect.DeepEqual(out, tc.want) {
			t.Errorf("GET %s?%s: %d %v, want %v", tc.path, tc.query.Encode(), status, out, tc.want)
		}
	}
	for _, bad := range []struct {
		path  string
		query url.Values
	}{
		{"/apps/3/channels", url.Values{"info": {"user_count"}}},
		{"/apps/3/channels/news", url.Values{"info": {"user_count"}}},
		{"/apps/3/channels/presence-room", url.Values{"info": {"subscription_count"}}},
		{"/apps/3/channels/news/users", nil},
		{"/apps/3/channels/news", url.Values{"info": {"cache"}}},
	} {
		if status, out := s.get(t, bad.path, bad.query); status != 400 || out["error"] == nil {
			t.Errorf("GET %s?%s: %d %v, want 400", bad.path, bad.query.Encode(), status, out)
		}
	}
}

func TestPusherAPITerminateAndSendToUser(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t, "", 0)
	c, bystander := s.pusher(t), s.pusher(t)
	const ud = `{"id":"7"}`
	c.send(fmt.Sprintf(`{"event":"pusher:signin","data":{"auth":%q,"user_data":%q}}`, signature.UserAuth(apiApp, c.id, ud), ud))
	c.want("event", "pusher:signin_success")
	c.want("event", "pusher_internal:subscription_succeeded")

	if status, _ := s.post(t, "/apps/3/events", `{"name":"Ping","channels":["#server-to-user-7"],"data":"{\"n\":1}"}`); status != 200 {
		t.Fatalf("sendToUser: %d", status)
	}
	if m := c.want("event", "Ping"); m["data"] != `{"n":1}` {
		t.Fatalf("user event %v", m)
	}
	if status, out := s.post(t, "/apps/3/users/7/terminate_connections", `{}`); status != 200 || len(out) != 0 {
		t.Fatalf("terminate: %d %v", status, out)
	}
	c.want("event", "pusher:error")
	_, _, err := c.c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 4009 {
		t.Fatalf("after terminate: %v, want close 4009", err)
	}
	bystander.quiet()
}

func TestPusherAPIRejectsBadInput(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t, "/pusher", 64)
	p := s.pusher(t, "orders")
	good := `{"name":"E","channels":["orders"],"data":"{}"}`
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("%q", fmt.Sprint("c", i))
	}
	now := time.Now()
	cases := []struct {
		name   string
		path   string
		body   string
		at     time.Time
		mutate func(url.Values)
		status int
		code   string
	}{
		{"bad signature", "/apps/3/events", good, now, func(q url.Values) { q.Set("auth_signature", strings.Repeat("0", 64)) }, 401, "invalid_signature"},
		{"wrong app key", "/apps/3/events", good, now, func(q url.Values) { q.Set("auth_key", "other") }, 401, "unknown_key"},
		{"stale timestamp", "/apps/3/events", good, now.Add(-601 * time.Second), nil, 401, "stale_timestamp"},
		{"future timestamp", "/apps/3/events", good, now.Add(700 * time.Second), nil, 401, "stale_timestamp"},
		{"wrong body_md5", "/apps/3/events", good, now, func(q url.Values) { q.Set("body_md5", strings.Repeat("a", 32)) }, 401, "body_md5_mismatch"},
		{"no signature", "/apps/3/events", good, now, func(q url.Values) { q.Del("auth_signature") }, 401, "invalid_auth_params"},
		{"unknown app id", "/apps/4/events", good, now, nil, 404, "app_not_found"},
		{"oversized data", "/apps/3/events", `{"name":"E","channels":["orders"],"data":"` + strings.Repeat("x", 65) + `"}`, now, nil, 413, "payload_too_large"},
		{"oversized body", "/apps/3/events", `{"name":"E","channels":["orders"],"data":"","pad":"` + strings.Repeat("x", 80<<10) + `"}`, now, nil, 413, "payload_too_large"},
		{"101 channels", "/apps/3/events", `{"name":"E","channels":[` + strings.Join(many, ",") + `],"data":"{}"}`, now, nil, 400, "bad_request"},
		{"malformed JSON", "/apps/3/events", `{"name":"E",`, now, nil, 400, "bad_request"},
		{"JSON array body", "/apps/3/events", `[]`, now, nil, 400, "bad_request"},
		{"data not a string", "/apps/3/events", `{"name":"E","channels":["orders"],"data":{"a":1}}`, now, nil, 400, "bad_request"},
		{"no data", "/apps/3/events", `{"name":"E","channels":["orders"]}`, now, nil, 400, "bad_request"},
		{"no channel", "/apps/3/events", `{"name":"E","data":"{}"}`, now, nil, 400, "bad_request"},
		{"channel and channels", "/apps/3/events", `{"name":"E","channel":"a","channels":["b"],"data":"{}"}`, now, nil, 400, "bad_request"},
		{"invalid channel", "/apps/3/events", `{"name":"E","channels":["bad channel"],"data":"{}"}`, now, nil, 400, "bad_request"},
		{"reserved event", "/apps/3/events", `{"name":"pusher:error","channels":["orders"],"data":"{}"}`, now, nil, 400, "bad_request"},
		{"bad socket_id", "/apps/3/events", `{"name":"E","channels":["orders"],"data":"{}","socket_id":"abc"}`, now, nil, 400, "bad_request"},
		{"unknown info", "/apps/3/events", `{"name":"E","channels":["orders"],"data":"{}","info":"cache"}`, now, nil, 400, "bad_request"},
		{"encrypted and plain channels", "/apps/3/events", `{"name":"E","channels":["private-encrypted-a","orders"],"data":"{\"nonce\":\"bg==\",\"ciphertext\":\"Yw==\"}"}`, now, nil, 400, "bad_request"},
		{"plaintext to an encrypted channel", "/apps/3/events", `{"name":"E","channel":"private-encrypted-a","data":"{\"secret\":1}"}`, now, nil, 400, "bad_request"},
		{"plaintext to an encrypted channel in a batch", "/apps/3/batch_events", `{"batch":[{"name":"E","channel":"orders","data":"{}"},{"name":"E","channel":"private-encrypted-a","data":"hello"}]}`, now, nil, 400, "bad_request"},
		{"11 events in a batch", "/apps/3/batch_events", `{"batch":[` + strings.TrimSuffix(strings.Repeat(`{"name":"E","channel":"orders","data":""},`, 11), ",") + `]}`, now, nil, 400, "bad_request"},
	}
	for _, tc := range cases {
		status, out := s.call(t, http.MethodPost, tc.path, nil, tc.body, tc.at, tc.mutate)
		if status != tc.status || out["error"] != tc.code || out["message"] == "" {
			t.Errorf("%s: %d %v, want %d %s", tc.name, status, out, tc.status, tc.code)
		}
	}
	p.quiet() // nothing was published
	if status, _ := s.post(t, "/apps/3/events", good); status != 200 {
		t.Fatalf("good request after bad ones: %d", status)
	}
	p.want("event", "E")
}

func TestMessageData(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`{"a":1}`: `{"a":1}`, `[1]`: `[1]`, `12`: `12`, `true`: `true`, `null`: `null`,
		`hello`: `"hello"`, ``: `""`, `"quoted"`: `"\"quoted\""`, ` "x"`: `" \"x\""`, `{bad`: `"{bad"`,
	} {
		if got := string(messageData(in)); got != want {
			t.Errorf("messageData(%q) = %s, want %s", in, got, want)
		}
	}
}

// info=cache answers a cache channel's last event and its time to live,
// null before any; a publish through the API fills the cache, and a
// late Pusher subscriber gets it.
func TestPusherAPICacheInfo(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t, "", 0)
	q := url.Values{"info": {"cache"}}
	if status, out := s.get(t, "/apps/3/channels/cache-prices", q); status != 200 || out["cache"] != nil || out["occupied"] != false {
		t.Fatalf("empty cache: %d %v", status, out)
	}
	if status, out := s.post(t, "/apps/3/events", `{"name":"Price","channel":"cache-prices","data":"{\"p\":7}"}`); status != 200 {
		t.Fatalf("trigger: %d %v", status, out)
	}
	status, out := s.get(t, "/apps/3/channels/cache-prices", q)
	cache, _ := out["cache"].(map[string]any)
	if status != 200 || cache["data"] != `{"p":7}` || cache["event"] != "Price" || cache["ttl"].(float64) < 1799 || cache["ttl"].(float64) > 1800 {
		t.Fatalf("cache after a publish: %d %v", status, out)
	}
	p := s.pusher(t, "cache-prices")
	if m := p.want("event", "Price"); m["data"] != `{"p":7}` {
		t.Fatalf("late subscriber got %v", m)
	}
}
