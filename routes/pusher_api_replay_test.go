package routes

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast/signature"
)

// send sends a request already signed, as a replaying attacker would.
func (s *apiStack) send(t *testing.T, method, path string, q url.Values, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+s.prefix+path+"?"+q.Encode(), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

func withGuard(g ReplayGuard) func(*Routes) { return func(rt *Routes) { rt.ReplayGuard = g } }

// With a replay guard, a signed publish is accepted once: the same
// request again, even with its query re-encoded, is answered 409 and
// publishes nothing. Signed GETs are not affected. Without a guard the
// replay publishes again, as with Pusher.
func TestPusherAPIReplay(t *testing.T) {
	t.Parallel()
	body := `{"name":"shipped","channels":["orders"],"data":"{\"id\":1}"}`
	for _, guarded := range []bool{true, false} {
		t.Run(map[bool]string{true: "guarded", false: "default"}[guarded], func(t *testing.T) {
			t.Parallel()
			var opts []func(*Routes)
			if guarded {
				opts = append(opts, withGuard(MemoryReplayGuard(signature.NewReplayCache(0, 0))))
			}
			s := newAPIStackOn(t, "", "", 0, opts...)
			w := s.pusher(t, "orders")
			q := signature.SignRequest(apiApp, http.MethodPost, "/apps/3/events", nil, []byte(body), time.Now())
			if status, raw := s.send(t, http.MethodPost, "/apps/3/events", q, body); status != 200 {
				t.Fatalf("first publish: %d %s", status, raw)
			}
			w.want("event", "shipped")
			// The same signed request, its parameters in another case.
			replay := url.Values{}
			for k, v := range q {
				replay[strings.ToUpper(k)] = v
			}
			status, raw := s.send(t, http.MethodPost, "/apps/3/events", replay, body)
			if guarded {
				if status != http.StatusConflict || !strings.Contains(raw, `"error":"replayed_request"`) {
					t.Fatalf("replay: %d %s, want 409 replayed_request", status, raw)
				}
				w.quiet() // nothing was published
			} else {
				if status != 200 {
					t.Fatalf("replay without a guard: %d %s", status, raw)
				}
				w.want("event", "shipped")
			}
			g := signature.SignRequest(apiApp, http.MethodGet, "/apps/3/channels", nil, nil, time.Now())
			for i := range 2 {
				if status, raw := s.send(t, http.MethodGet, "/apps/3/channels", g, ""); status != 200 {
					t.Fatalf("GET %d: %d %s", i, status, raw)
				}
			}
		})
	}
}

type failingGuard struct{}

func (failingGuard) Seen(context.Context, string, time.Time) (bool, error) {
	return false, errors.New("store unreachable")
}

// A guard that cannot answer refuses the publish (503): replay
// protection that was asked for is not silently skipped.
func TestPusherAPIReplayGuardFails(t *testing.T) {
	t.Parallel()
	s := newAPIStackOn(t, "", "", 0, withGuard(failingGuard{}))
	status, out := s.post(t, "/apps/3/events", `{"name":"e","channels":["orders"],"data":"1"}`)
	if status != http.StatusServiceUnavailable || out["error"] != "replay_check_failed" {
		t.Fatalf("%d %v, want 503 replay_check_failed", status, out)
	}
}
