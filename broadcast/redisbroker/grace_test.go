package redisbroker

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	ws "github.com/velocitykode/velocity/broadcast/websocket"
	"github.com/velocitykode/velocity/internal/wstest"
)

// held reports whether Redis holds user's departure from channel.
func held(t *testing.T, rc *redis.Client, k keys, channel, user string) bool {
	t.Helper()
	err := rc.ZScore(context.Background(), k.grace(channel), user).Err()
	if err != nil && err != redis.Nil {
		t.Fatal(err)
	}
	return err == nil
}

// indexed reports whether the app-wide grace index has user's entry.
func indexed(t *testing.T, rc *redis.Client, k keys, channel, user string) bool {
	t.Helper()
	err := rc.ZScore(context.Background(), k.graceIndex(), graceEntry(channel, user)).Err()
	if err != nil && err != redis.Nil {
		t.Fatal(err)
	}
	return err == nil
}

// The keys of a held departure go away: a rejoin on another node drops
// the departure at once and the holder's timer its index entry; a
// departure carried out drops both. (test/cluster checks what the
// members see, on every engine.)
func TestGraceKeysDropped(t *testing.T) {
	t.Parallel()
	const ch, grace = "presence-grace-keys", time.Second
	url := redisURL(t)
	prefix := testPrefix(t, url)
	rc := rawClient(t, url)
	k := keys{prefix: prefix, parts: 1}
	a, b, onB, alice := graceNodes(t, url, prefix, ch, grace)
	alice.ws.Close()
	wstest.EventuallyWithin(t, 5*time.Second, "alice's departure held", func() bool { return held(t, rc, k, ch, "alice") && indexed(t, rc, k, ch, "alice") })

	again := b.dial(t, "alice")
	again.subscribe(ch)
	if held(t, rc, k, ch, "alice") {
		t.Fatal("the rejoin left the departure held")
	}
	wstest.EventuallyWithin(t, grace+5*time.Second, "the index entry dropped", func() bool { return !indexed(t, rc, k, ch, "alice") })

	again.ws.Close()
	if f := onB.waitFor("alice's member_removed", func(f frame) bool { return f.Type == "member_removed" }); userOf(t, f) != "alice" {
		t.Fatalf("watcher got %s", f.raw)
	}
	wstest.EventuallyWithin(t, 5*time.Second, "the departure's keys dropped", func() bool { return !held(t, rc, k, ch, "alice") && !indexed(t, rc, k, ch, "alice") })
	if got, err := a.br.Presence().Members(context.Background(), ch); err != nil || len(got) != 2 {
		t.Fatalf("members after the departure = %v, %v", got, err)
	}
}

// graceNodes starts two nodes with the grace period, a watcher on each
// subscribed to ch, and alice on node A, each watcher having seen her
// join.
func graceNodes(t *testing.T, url, prefix, ch string, grace time.Duration) (a, b *node, onB, alice *client) {
	t.Helper()
	cfg := ws.Config{PresenceGracePeriod: grace}
	a, b = newNodeConfig(t, url, prefix, cfg, nil), newNodeConfig(t, url, prefix, cfg, nil)
	onA, onB := a.dial(t, "watcherA"), b.dial(t, "watcherB")
	onA.subscribe(ch)
	onB.subscribe(ch)
	onA.expect("member_added")
	alice = a.dial(t, "alice")
	alice.subscribe(ch)
	onA.expect("member_added")
	onB.expect("member_added")
	return a, b, onB, alice
}
