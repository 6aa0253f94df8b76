package plugin_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/velocitykode/velocity/internal/testenv"
	"github.com/velocitykode/velocity/internal/wstest"
	"github.com/velocitykode/velocity/plugin"
)

func natsEnv(t *testing.T) map[string]string {
	t.Helper()
	url := testenv.NATS(t)
	prefix := testenv.NATSNamespace(t, url, "plugintest")
	return map[string]string{"BROADCAST_DRIVER": "nats", "NATS_URL": url, "BROADCAST_NATS_PREFIX": prefix,
		// The tests assert when member_removed goes out.
		"BROADCAST_PRESENCE_GRACE": "0"}
}

// Two plugin instances on one NATS behave as one: presence, messages,
// ToOthers and GetClients cross them.
func TestNATSDriverTwoInstances(t *testing.T) {
	t.Parallel()
	env := natsEnv(t)
	a, b := newStack(t, env), newStack(t, env)
	const ch = "private-chat.room1"
	alice, bob := a.dial("1"), b.dial("2")
	for _, c := range []*wstest.Client{alice, bob} {
		if f := c.Subscribe(ch, "", ""); f.Type != "subscription_succeeded" {
			t.Fatalf("subscribe: %s", f.Raw)
		}
		c.RoundTrip()
	}
	if err := a.b.Private("chat.room1").ToOthers(alice.SocketID).Emit("MessageSent", map[string]string{"message": "hi"}); err != nil {
		t.Fatal(err)
	}
	if err := a.b.Private("chat.room1").Emit("Marker", 1); err != nil {
		t.Fatal(err)
	}
	if got := bob.Read(); got.Type != "MessageSent" || string(got.Data) != `{"message":"hi"}` {
		t.Fatalf("cross-instance event: %s", got.Raw)
	}
	bob.Expect("Marker")
	if got := alice.Read(); got.Type != "Marker" {
		t.Fatalf("alice, excluded by ToOthers, got %s before the marker", got.Raw)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(a.b.GetClients(ch)) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("GetClients on A = %v, want both instances' sockets", a.b.GetClients(ch))
		}
		time.Sleep(10 * time.Millisecond)
	}
	resp, err := http.Get(a.srv.URL + "/broadcasting/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"ok"`) {
		t.Fatalf("health: %d %s", resp.StatusCode, body)
	}
	alice.Subscribe(room, "", "")
	f := bob.Subscribe(room, "", "")
	if strings.Join(members(t, f), ",") != "1,2" {
		t.Fatalf("bob on instance B sees %s", f.Raw)
	}
	alice.Expect("member_added")
	bob.WS.Close()
	if got := alice.Expect("member_removed"); string(got.Data) != `{"user_id":"2"}` {
		t.Fatalf("member_removed across instances: %s", got.Raw)
	}
}

func TestNATSDriverBadURL(t *testing.T) {
	t.Parallel()
	env := natsEnv(t)
	env["NATS_URL"] = "nats://127.0.0.1:1"
	cfg, err := plugin.FromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plugin.New(cfg); err == nil || !strings.Contains(err.Error(), "NATS_URL") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("New with an unreachable NATS = %v, want an error naming NATS_URL", err)
	}
	env["NATS_URL"] = "http://127.0.0.1:4222"
	cfg, _ = plugin.FromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if _, err := plugin.New(cfg); err == nil || !strings.Contains(err.Error(), "NATS_URL") {
		t.Fatalf("New with a bad NATS_URL = %v", err)
	}
}
