package plugin_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/velocitykode/velocity/broadcast"
	"github.com/velocitykode/velocity/broadcast/websocket"
	"github.com/velocitykode/velocity/internal/wstest"
	"github.com/velocitykode/velocity/plugin"
)

// The endpoints on their own listener (WEBSOCKET_HOST:WEBSOCKET_PORT),
// and Shutdown closing its connections with 4200 and stopping it.
func TestOwnListenerAndShutdown(t *testing.T) {
	cfg, err := plugin.FromLookup(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	p, err := plugin.New(cfg, plugin.WithBroadcaster(broadcast.New(nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- p.Serve(ln) }()

	c := wstest.Dial(t, "ws://"+ln.Addr().String()+"/ws", nil)
	c.Subscribe("orders", "", "")
	if err := p.Broadcaster().Channel("orders").Emit("E", 1); err != nil {
		t.Fatal(err)
	}
	c.Expect("E")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if code := c.ExpectClose(); code != websocket.CodeShutdown {
		t.Fatalf("close code %d, want 4200", code)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve after Shutdown = %v, want nil", err)
	}
	if err := p.Shutdown(ctx); err != nil { // idempotent
		t.Fatal(err)
	}
}
