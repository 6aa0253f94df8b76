package redisbroker

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	ws "github.com/velocitykode/velocity/broadcast/websocket"
)

// markerIsNext emits a marker on channel from n and checks that it is
// the next frame of every observer: nothing else reached them first.
func markerIsNext(t *testing.T, n *node, channel string, observers ...*client) {
	t.Helper()
	if err := n.b.Channel(channel).Emit("marker", 0); err != nil {
		t.Fatal(err)
	}
	for _, c := range observers {
		if f := c.expect("marker"); f.Channel != channel {
			t.Fatalf("marker on %q", f.Channel)
		}
	}
}

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

// A reload that lands on another node within the grace period: the
// other members see no event, then or when the period ends, and the
// user stays a member.
func TestGraceLeaveOnOneNodeRejoinOnAnother(t *testing.T) {
	t.Parallel()
	const ch, grace = "presence-grace-move", 2 * time.Second
	url := redisURL(t)
	prefix := testPrefix(t, url)
	rc := rawClient(t, url)
	k := keys{prefix: prefix, parts: 1}
	a, b, onA, onB, alice := graceNodes(t, url, prefix, ch, grace, nil)
	alice.ws.Close()
	eventually(t, 5*time.Second, "alice's departure held", func() bool { return held(t, rc, k, ch, "alice") })

	again := b.dial(t, "alice")
	if got := strings.Join(members(t, again.subscribe(ch)), ","); got != "alice,watcherA,watcherB" {
		t.Fatalf("the reloaded page on node B sees %s", got)
	}
	if held(t, rc, k, ch, "alice") {
		t.Fatal("the rejoin left the departure held")
	}
	markerIsNext(t, b, ch, onA, onB, again)
	// Node A's timer fires, finds the departure cancelled and drops its
	// index entry.
	eventually(t, grace+5*time.Second, "the grace period over", func() bool { return !indexed(t, rc, k, ch, "alice") })
	markerIsNext(t, a, ch, onA, onB, again)
	got, err := a.br.Presence().Members(context.Background(), ch)
	if err != nil || len(got) != 3 {
		t.Fatalf("members after the period = %v, %v", got, err)
	}
}

// A user who leaves for good is removed once cluster-wide, after the
// grace period and not before, though the holder's timer and every
// node's sweep race to carry the departure out.
func TestGraceExpiryAnnouncedOnce(t *testing.T) {
	t.Parallel()
	const ch, grace = "presence-grace-once", time.Second
	url := redisURL(t)
	prefix := testPrefix(t, url)
	fastSweep := func(o *Options) { o.CleanupBound = minCleanupBound } // sweeps every 50ms
	_, b, onA, onB, alice := graceNodes(t, url, prefix, ch, grace, fastSweep)

	left := time.Now()
	alice.ws.Close()
	for _, w := range []*client{onA, onB} {
		f, err := w.tryRead(grace + 5*time.Second)
		if err != nil {
			t.Fatalf("no member_removed: %v", err)
		}
		if took := time.Since(left); f.Type != "member_removed" || userOf(t, f) != "alice" || took < grace {
			t.Fatalf("%s after %s; want alice's member_removed after %s", f.raw, took, grace)
		}
	}
	// Every node's sweep has had its turn at the entry by then.
	rc := rawClient(t, url)
	k := keys{prefix: prefix, parts: 1}
	eventually(t, 5*time.Second, "the index entry dropped", func() bool { return !indexed(t, rc, k, ch, "alice") })
	markerIsNext(t, b, ch, onA, onB)
}

// startTestNode runs a node in a child process (runTestNode) and returns
// it with the command, which the caller may SIGKILL.
func startTestNode(t *testing.T, url, prefix string, bound, grace time.Duration) (*node, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), testNodeEnv+"="+prefix, testNodeURLEnv+"="+url,
		testNodeBound+"="+bound.String(), testNodeGrace+"="+grace.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "LISTEN ") {
		t.Fatalf("test node said %q: %v", line, err)
	}
	return &node{url: strings.TrimSpace(strings.TrimPrefix(line, "LISTEN "))}, cmd
}

// The node that held a departure is SIGKILLed before the period ends:
// a survivor carries it out, and exactly one member_removed goes out,
// also once the dead node itself is reaped.
func TestGraceDepartureOutlivesKilledNode(t *testing.T) {
	t.Parallel()
	const ch, bound, grace = "presence-grace-crash", 3 * time.Second, 2 * time.Second
	url := redisURL(t)
	prefix := testPrefix(t, url)
	rc := rawClient(t, url)
	k := keys{prefix: prefix, parts: 1}
	child, cmd := startTestNode(t, url, prefix, bound, grace)
	survivor := newNodeConfig(t, url, prefix, ws.Config{PresenceGracePeriod: grace}, func(o *Options) { o.CleanupBound = bound })
	watcher := survivor.dial(t, "watcher")
	watcher.subscribe(ch)
	ghost := child.dial(t, "ghost")
	if got := members(t, ghost.subscribe(ch)); len(got) != 2 {
		t.Fatalf("ghost sees %v", got)
	}
	watcher.expect("member_added")

	left := time.Now()
	ghost.ws.Close()
	eventually(t, 5*time.Second, "ghost's departure held", func() bool { return held(t, rc, k, ch, "ghost") })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	f, err := watcher.tryRead(grace + bound + 5*time.Second)
	if err != nil {
		t.Fatalf("no member_removed after the holder's death: %v", err)
	}
	took := time.Since(left)
	if f.Type != "member_removed" || userOf(t, f) != "ghost" || took < grace {
		t.Fatalf("%s after %s; want ghost's member_removed after %s", f.raw, took, grace)
	}
	t.Logf("member_removed %s after the leave, the holder SIGKILLed (grace %s, sweep every %s)", took.Round(time.Millisecond), grace, bound/6)
	// The dead node is reaped too; that must not announce ghost again.
	eventually(t, 2*bound, "the dead node reaped", func() bool { return survivor.logs.contains("removed a dead node's members") })
	markerIsNext(t, survivor, ch, watcher)
	got, err := survivor.br.Presence().Members(context.Background(), ch)
	if err != nil || len(got) != 1 || got[0].UserID != "watcher" {
		t.Fatalf("members after the reap = %v, %v", got, err)
	}
}

// graceNodes starts two nodes with the grace period, a watcher on each
// subscribed to ch, and alice on node A, each watcher having seen her
// join.
func graceNodes(t *testing.T, url, prefix, ch string, grace time.Duration, mod func(*Options)) (a, b *node, onA, onB, alice *client) {
	t.Helper()
	cfg := ws.Config{PresenceGracePeriod: grace}
	a, b = newNodeConfig(t, url, prefix, cfg, mod), newNodeConfig(t, url, prefix, cfg, mod)
	onA, onB = a.dial(t, "watcherA"), b.dial(t, "watcherB")
	onA.subscribe(ch)
	onB.subscribe(ch)
	onA.expect("member_added")
	alice = a.dial(t, "alice")
	alice.subscribe(ch)
	onA.expect("member_added")
	onB.expect("member_added")
	return a, b, onA, onB, alice
}
