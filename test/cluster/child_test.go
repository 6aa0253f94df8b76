package cluster_test

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// Environment of a child node process (the test binary run again).
const (
	childEngineEnv = "CLUSTER_TEST_NODE_ENGINE"
	childURLEnv    = "CLUSTER_TEST_NODE_URL"
	childPrefixEnv = "CLUSTER_TEST_NODE_PREFIX"
	childBoundEnv  = "CLUSTER_TEST_NODE_BOUND"
	childGraceEnv  = "CLUSTER_TEST_NODE_GRACE"
)

// runChild serves one node until the process is killed. It prints
// "LISTEN ws://host:port/" once it accepts connections, then
// "HELD channel user" for every departure it holds.
func runChild() {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	e, err := engineNamed(os.Getenv(childEngineEnv))
	if err != nil {
		fail(err)
	}
	bound, _ := time.ParseDuration(os.Getenv(childBoundEnv))
	grace, _ := time.ParseDuration(os.Getenv(childGraceEnv))
	cfg := nodeConfig{url: os.Getenv(childURLEnv), prefix: os.Getenv(childPrefixEnv), bound: bound, grace: grace}
	n, err := openNode(e, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		fail(err)
	}
	var mu sync.Mutex
	n.presence.onHeld = func(channel, userID string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Printf("HELD %s %s\n", channel, userID)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	fmt.Printf("LISTEN ws://%s/\n", ln.Addr())
	_ = http.Serve(ln, n.srv)
	os.Exit(3)
}
