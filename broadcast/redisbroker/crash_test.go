package redisbroker

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	ws "github.com/velocitykode/velocity/broadcast/websocket"
)

// Environment of a test node process (the test binary re-executed).
const (
	testNodeEnv    = "REDISBROKER_TEST_NODE" // the key prefix
	testNodeURLEnv = "REDISBROKER_TEST_NODE_URL"
	testNodeBound  = "REDISBROKER_TEST_NODE_BOUND"
	testNodeGrace  = "REDISBROKER_TEST_NODE_GRACE" // the presence grace period, if set
)

// runTestNode serves one node until the process is killed. It prints
// "LISTEN ws://host:port/" once it accepts connections.
func runTestNode() {
	bound, _ := time.ParseDuration(os.Getenv(testNodeBound))
	br, err := New(Options{URL: os.Getenv(testNodeURLEnv), Prefix: os.Getenv(testNodeEnv), CleanupBound: bound})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	grace, _ := time.ParseDuration(os.Getenv(testNodeGrace))
	srv, err := ws.NewServer(ws.Config{PresenceGracePeriod: grace}, ws.WithBroker(br), ws.WithPresenceStore(br.Presence()), ws.WithAuthenticator(userFromQuery))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	newBroadcaster(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("LISTEN ws://%s/\n", ln.Addr())
	_ = http.Serve(ln, srv)
	os.Exit(3)
}

func TestNodeKilledMembersRemovedWithinBound(t *testing.T) {
	t.Parallel()
	const bound = 3 * time.Second
	url := redisURL(t)
	prefix := testPrefix(t, url)
	child, cmd := startTestNode(t, url, prefix, bound, 0) // the default grace: the reaper removes directly

	survivor := newNode(t, url, prefix, func(o *Options) { o.CleanupBound = bound })
	watcher := survivor.dial(t, "watcher")
	watcher.subscribe("presence-crash")
	ghost := child.dial(t, "ghost")
	if got := members(t, ghost.subscribe("presence-crash")); len(got) != 2 {
		t.Fatalf("ghost sees %v", got)
	}
	if f := watcher.expect("member_added"); userOf(t, f) != "ghost" {
		t.Fatalf("watcher got %s", f.raw)
	}
	if ids := survivor.b.GetClients("presence-crash"); len(ids) != 2 {
		t.Fatalf("GetClients before the kill = %v", ids)
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	_ = cmd.Wait()
	f, err := watcher.tryRead(bound + 2*time.Second)
	if err != nil {
		t.Fatalf("no member_removed within %s: %v", bound+2*time.Second, err)
	}
	took := time.Since(killedAt)
	if f.Type != "member_removed" || userOf(t, f) != "ghost" {
		t.Fatalf("watcher got %s", f.raw)
	}
	if took > bound {
		t.Fatalf("member_removed %s after the kill, bound %s", took, bound)
	}
	t.Logf("member_removed %s after SIGKILL (bound %s)", took.Round(time.Millisecond), bound)
	if ids := survivor.b.GetClients("presence-crash"); len(ids) != 1 || ids[0] != watcher.socketID {
		t.Fatalf("GetClients after the reap = %v", ids)
	}
	got, err := survivor.br.Presence().Members(context.Background(), "presence-crash")
	if err != nil || len(got) != 1 || got[0].UserID != "watcher" {
		t.Fatalf("members after the reap = %v, %v", got, err)
	}
	eventually(t, 5*time.Second, "the reap logged", func() bool {
		return survivor.logs.contains("removed a dead node's members")
	})
}
