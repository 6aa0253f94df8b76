package plugin_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/velocitykode/velocity/broadcast/webhook"
	"github.com/velocitykode/velocity/internal/wstest"
	"github.com/velocitykode/velocity/plugin"
)

// receiver is a webhook endpoint that checks each request's signature
// with the app's key and secret and keeps the events.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	events []string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		p, err := webhook.Verify("app-secret", "velocity-key", req.Header, body)
		if err != nil {
			t.Errorf("webhook refused: %v: %s", err, body)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		r.mu.Lock()
		for _, e := range p.Events {
			line := e.Name + " " + e.Channel
			if e.UserID != "" {
				line += " " + e.UserID
			}
			if e.Event != "" {
				line += " " + e.Event + " " + e.Data
			}
			r.events = append(r.events, line)
		}
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// waitFor waits until the receiver got want (in any order), and checks
// it got nothing else.
func (r *receiver) waitFor(want ...string) {
	r.t.Helper()
	wstest.Eventually(r.t, fmt.Sprintf("%d webhook events", len(want)), func() bool { return len(r.list()) >= len(want) })
	got, exp := r.list(), slices.Clone(want)
	slices.Sort(got)
	slices.Sort(exp)
	if !slices.Equal(got, exp) {
		r.t.Fatalf("webhook events:\n got %q\nwant %q", got, exp)
	}
}

// BROADCAST_WEBHOOKS: a subscription's lifecycle reaches the receiver as
// Pusher's signed webhooks.
func TestWebhooksEndToEnd(t *testing.T) {
	t.Parallel()
	r := newReceiver(t)
	s := newStack(t, map[string]string{"BROADCAST_WEBHOOKS": r.srv.URL, "BROADCAST_PRESENCE_GRACE": "0"})
	alice := s.dial("1")
	if f := alice.Subscribe(room, "", ""); f.Type != "subscription_succeeded" {
		t.Fatalf("subscribe: %s", f.Raw)
	}
	alice.Send(`{"type":"client-typing","channel":"` + room + `","data":{"on":true}}`)
	alice.RoundTrip()
	r.waitFor("channel_occupied "+room, "member_added "+room+" 1", `client_event `+room+` 1 client-typing {"on":true}`)
	alice.WS.Close()
	r.waitFor("channel_occupied "+room, "member_added "+room+" 1", `client_event `+room+` 1 client-typing {"on":true}`,
		"member_removed "+room+" 1", "channel_vacated "+room)
	wstest.Eventually(t, "the webhook counters", func() bool {
		w := s.p.MetricsSnapshot().Webhooks
		return w != nil && w.Events == 5 && w.Dropped == 0 && w.Queued == 0
	})
	if h := s.p.MetricsSnapshot().Hooks; h.Ran < 5 || h.Dropped != 0 {
		t.Fatalf("hook counters %+v", h)
	}
}

// Two processes on one Redis or one NATS, both sending webhooks to one
// receiver: every occupancy and member event arrives once.
func TestWebhooksOncePerCluster(t *testing.T) {
	t.Parallel()
	for name, envOf := range map[string]func(*testing.T) map[string]string{"redis": redisEnv, "nats": natsEnv} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			webhooksOncePerCluster(t, envOf(t))
		})
	}
}

func webhooksOncePerCluster(t *testing.T, env map[string]string) {
	r := newReceiver(t)
	env["BROADCAST_WEBHOOKS"] = r.srv.URL + "|channel_occupied+channel_vacated+member_added+member_removed"
	a, b := newStack(t, env), newStack(t, env)
	var clients []*wstest.Client
	for _, s := range []*stack{a, b} {
		for _, user := range []string{"1", "2"} {
			c := s.dial(user)
			if f := c.Subscribe(room, "", ""); f.Type != "subscription_succeeded" {
				t.Fatalf("subscribe: %s", f.Raw)
			}
			c.Subscribe("news", "", "")
			clients = append(clients, c)
		}
	}
	r.waitFor("channel_occupied "+room, "channel_occupied news", "member_added "+room+" 1", "member_added "+room+" 2")
	for _, c := range clients {
		c.WS.Close()
	}
	want := []string{"channel_occupied " + room, "channel_occupied news", "member_added " + room + " 1", "member_added " + room + " 2",
		"member_removed " + room + " 1", "member_removed " + room + " 2", "channel_vacated " + room, "channel_vacated news"}
	r.waitFor(want...)
	// A fence per process: each sends its events in order, so once its
	// fence arrived nothing it sent before can still come as a duplicate.
	for i, s := range []*stack{a, b} {
		fence := fmt.Sprint("fence-", i)
		c := s.dial("9")
		c.Subscribe(fence, "", "")
		c.WS.Close()
		want = append(want, "channel_occupied "+fence, "channel_vacated "+fence)
	}
	r.waitFor(want...)
}

// A receiver that is not http(s), or a filter naming no webhook, stops
// start-up naming the variable, without repeating a password.
func TestWebhooksBadConfig(t *testing.T) {
	t.Parallel()
	for _, spec := range []string{"ftp://hooks.example/x", "https://u:hunter2@hooks.example/x|channel_opened", "/relative"} {
		_, err := plugin.FromLookup(func(k string) (string, bool) {
			if k == "BROADCAST_WEBHOOKS" {
				return spec, true
			}
			return "", false
		})
		if !errors.Is(err, plugin.ErrInvalidConfig) || !strings.Contains(err.Error(), "BROADCAST_WEBHOOKS") || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: %v", spec, err)
		}
	}
}
