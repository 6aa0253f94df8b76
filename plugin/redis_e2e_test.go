package plugin_test

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/velocitykode/velocity/internal/testenv"
	"github.com/velocitykode/velocity/plugin"
)

func redisEnv(t *testing.T) map[string]string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	url := testenv.Redis(t)
	return map[string]string{
		"BROADCAST_DRIVER":       "redis",
		"REDIS_URL":              url,
		"BROADCAST_REDIS_PREFIX": "plugintest-" + hex.EncodeToString(b),
		// The tests assert when member_removed goes out.
		"BROADCAST_PRESENCE_GRACE": "0",
	}
}

// Two plugin instances on one Redis behave as one: presence, messages,
// ToOthers and GetClients cross them.
func TestRedisDriverTwoInstances(t *testing.T) {
	t.Parallel()
	env := redisEnv(t)
	a, b := newStack(t, env), newStack(t, env)

	alice := a.dial("1")
	alice.Subscribe(room, "", "")
	bob := b.dial("2")
	f := bob.Subscribe(room, "", "")
	if strings.Join(members(t, f), ",") != "1,2" {
		t.Fatalf("bob on instance B sees %s", f.Raw)
	}
	alice.Expect("member_added")

	if err := a.b.Presence("chat.room1").ToOthers(alice.SocketID).Emit("MessageSent", map[string]string{"message": "hi"}); err != nil {
		t.Fatal(err)
	}
	// A marker sent to everyone after it: alice's next frame is the
	// marker, so the event excluded by ToOthers never reached her though
	// it went through Redis, while bob gets both, in order.
	if err := a.b.Presence("chat.room1").Emit("Marker", 1); err != nil {
		t.Fatal(err)
	}
	// alice's member_added travels through Redis and may reach B after
	// bob's list already had her: the presence version keeps it from him.
	got := bob.Read()
	if got.Type != "MessageSent" || string(got.Data) != `{"message":"hi"}` {
		t.Fatalf("cross-instance event: %s", got.Raw)
	}
	bob.Expect("Marker")
	if got := alice.Read(); got.Type != "Marker" {
		t.Fatalf("alice, excluded by ToOthers, got %s before the marker", got.Raw)
	}

	if ids := a.b.GetClients(room); len(ids) != 2 {
		t.Fatalf("GetClients on A = %v, want both instances' sockets", ids)
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
	bob.WS.Close()
	if got := alice.Expect("member_removed"); string(got.Data) != `{"user_id":"2"}` {
		t.Fatalf("member_removed across instances: %s", got.Raw)
	}
}

func TestRedisDriverBadURL(t *testing.T) {
	t.Parallel()
	env := redisEnv(t)
	env["REDIS_URL"] = "redis://127.0.0.1:1/0"
	cfg, err := plugin.FromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plugin.New(cfg); err == nil || !strings.Contains(err.Error(), "REDIS_URL") {
		t.Fatalf("New with an unreachable Redis = %v, want an error naming REDIS_URL", err)
	}
}
