package plugin_test

import (
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast/signature"
)

var stackApp = signature.App{ID: "velocity", Key: "velocity-key", Secret: "app-secret"}

// publish sends one signed POST /apps/velocity/events, signed at, to s.
func (s *stack) publish(t *testing.T, body string, at time.Time) (int, string) {
	t.Helper()
	path := "/apps/velocity/events"
	q := signature.SignRequest(stackApp, http.MethodPost, path, nil, []byte(body), at)
	return s.send(t, path+"?"+q.Encode(), body)
}

func (s *stack) send(t *testing.T, target, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(s.srv.URL+target, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

func replayEnv(env map[string]string) map[string]string {
	out := map[string]string{"BROADCAST_PUSHER_REPLAY_PROTECTION": "true"}
	maps.Copy(out, env)
	return out
}

// With BROADCAST_PUSHER_REPLAY_PROTECTION, a signed publish replayed to
// the same process is refused with 409 and publishes nothing; without it
// the replay publishes again.
func TestPusherReplayProtection(t *testing.T) {
	t.Parallel()
	for name, env := range map[string]map[string]string{"on": replayEnv(nil), "off": nil} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, env)
			c := s.dial("")
			c.Subscribe("orders", "", "")
			body := `{"name":"shipped","channels":["orders"],"data":"1"}`
			path := "/apps/velocity/events"
			target := path + "?" + signature.SignRequest(stackApp, http.MethodPost, path, nil, []byte(body), time.Now()).Encode()
			if status, raw := s.send(t, target, body); status != 200 {
				t.Fatalf("publish: %d %s", status, raw)
			}
			c.Expect("shipped")
			status, raw := s.send(t, target, body)
			if name == "off" {
				if status != 200 {
					t.Fatalf("replay without protection: %d %s", status, raw)
				}
				c.Expect("shipped")
				return
			}
			if status != http.StatusConflict || !strings.Contains(raw, `"error":"replayed_request"`) {
				t.Fatalf("replay: %d %s, want 409 replayed_request", status, raw)
			}
			c.RoundTrip() // nothing was published
		})
	}
}

// With the redis and nats drivers the signatures seen are shared: a
// publish replayed to another process is refused too.
func TestPusherReplayProtectionAcrossProcesses(t *testing.T) {
	t.Parallel()
	for name, envOf := range map[string]func(*testing.T) map[string]string{"redis": redisEnv, "nats": natsEnv} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			replayAcrossProcesses(t, replayEnv(envOf(t)))
		})
	}
}

func replayAcrossProcesses(t *testing.T, env map[string]string) {
	a, b := newStack(t, env), newStack(t, env)
	c := b.dial("")
	c.Subscribe("orders", "", "")
	body := `{"name":"shipped","channels":["orders"],"data":"1"}`
	path := "/apps/velocity/events"
	target := path + "?" + signature.SignRequest(stackApp, http.MethodPost, path, nil, []byte(body), time.Now()).Encode()
	if status, raw := a.send(t, target, body); status != 200 {
		t.Fatalf("publish on A: %d %s", status, raw)
	}
	c.Expect("shipped")
	if status, raw := b.send(t, target, body); status != http.StatusConflict || !strings.Contains(raw, "replayed_request") {
		t.Fatalf("replay on B: %d %s, want 409 replayed_request", status, raw)
	}
	if status, raw := a.publish(t, `{"name":"next","channels":["orders"],"data":"2"}`, time.Now()); status != 200 {
		t.Fatalf("another publish: %d %s", status, raw)
	}
	c.Expect("next") // the replay published nothing
}
