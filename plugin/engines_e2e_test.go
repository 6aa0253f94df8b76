package plugin_test

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/velocitykode/velocity/internal/testenv"
	"github.com/velocitykode/velocity/internal/wstest"
	"github.com/velocitykode/velocity/plugin"
)

func redisEnv(t *testing.T) map[string]string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return map[string]string{"BROADCAST_DRIVER": "redis", "REDIS_URL": testenv.Redis(t),
		"BROADCAST_REDIS_PREFIX": "plugintest-" + hex.EncodeToString(b),
		// The tests assert when member_removed goes out.
		"BROADCAST_PRESENCE_GRACE": "0"}
}

func natsEnv(t *testing.T) map[string]string {
	t.Helper()
	url := testenv.NATS(t)
	return map[string]string{"BROADCAST_DRIVER": "nats", "NATS_URL": url,
		"BROADCAST_NATS_PREFIX":    testenv.NATSNamespace(t, url, "plugintest"),
		"BROADCAST_PRESENCE_GRACE": "0"}
}

// engines are the distributed drivers: their environment, the variable
// naming the back end, a URL where none listens and one of another
// scheme.
var engines = []struct {
	name            string
	env             func(*testing.T) map[string]string
	urlVar          string
	deadURL, badURL string
}{
	{"redis", redisEnv, "REDIS_URL", "redis://127.0.0.1:1/0", "http://127.0.0.1:6379"},
	{"nats", natsEnv, "NATS_URL", "nats://127.0.0.1:1", "http://127.0.0.1:4222"},
}

// Two plugin instances on one back end behave as one: presence,
// messages, ToOthers and GetClients cross them.
func TestDriverTwoInstances(t *testing.T) {
	t.Parallel()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			env := e.env(t)
			a, b := newStack(t, env), newStack(t, env)
			alice := a.dial("1")
			alice.Subscribe(room, "", "")
			bob := b.dial("2")
			if f := bob.Subscribe(room, "", ""); strings.Join(members(t, f), ",") != "1,2" {
				t.Fatalf("bob on instance B sees %s", f.Raw)
			}
			alice.Expect("member_added")

			if err := a.b.Presence("chat.room1").ToOthers(alice.SocketID).Emit("MessageSent", map[string]string{"message": "hi"}); err != nil {
				t.Fatal(err)
			}
			// A marker sent to everyone after it: alice's next frame is
			// the marker, so the event excluded by ToOthers never reached
			// her though it crossed the back end, while bob gets both, in
			// order. alice's member_added may reach B after bob's list
			// already had her: the presence version keeps it from him.
			if err := a.b.Presence("chat.room1").Emit("Marker", 1); err != nil {
				t.Fatal(err)
			}
			if got := bob.Read(); got.Type != "MessageSent" || string(got.Data) != `{"message":"hi"}` {
				t.Fatalf("cross-instance event: %s", got.Raw)
			}
			bob.Expect("Marker")
			if got := alice.Read(); got.Type != "Marker" {
				t.Fatalf("alice, excluded by ToOthers, got %s before the marker", got.Raw)
			}
			wstest.Eventually(t, "GetClients on A lists both instances' sockets", func() bool { return len(a.b.GetClients(room)) == 2 })

			resp, err := http.Get(a.srv.URL + "/broadcasting/health")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"ok"`) {
				t.Fatalf("health: %d %s", resp.StatusCode, body)
			}
			bob.WS.Close()
			if got := alice.Expect("member_removed"); string(got.Data) != `{"user_id":"2"}` {
				t.Fatalf("member_removed across instances: %s", got.Raw)
			}
		})
	}
}

// A back end that does not answer, or a URL of another scheme, fails
// start-up naming the variable.
func TestDriverBadURL(t *testing.T) {
	t.Parallel()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			env := e.env(t)
			for _, url := range []string{e.deadURL, e.badURL} {
				env[e.urlVar] = url
				cfg, err := plugin.FromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
				if err == nil {
					_, err = plugin.New(cfg)
				}
				if err == nil || !strings.Contains(err.Error(), e.urlVar) || !strings.Contains(err.Error(), "127.0.0.1:") {
					t.Fatalf("%s=%s: %v, want an error naming %s and the address", e.urlVar, url, err, e.urlVar)
				}
			}
		})
	}
}
