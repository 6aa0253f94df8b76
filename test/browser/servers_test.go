package browser

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/velocitykode/velocity/plugin"
)

// app is what the example packages build: an HTTP handler with a
// Shutdown that closes its WebSockets.
type app interface {
	Handler() http.Handler
	Shutdown(ctx context.Context) error
}

// server runs an app on a loopback port and can restart it on that port,
// as a deploy would.
type server struct {
	t     *testing.T
	addr  string
	build func() app
	app   app
	srv   *http.Server
	done  chan struct{}
}

// startServer builds the app and serves it on a free loopback port.
func startServer(t *testing.T, build func() app) *server {
	t.Helper()
	s := &server{t: t, addr: "127.0.0.1:0", build: build}
	s.start()
	t.Cleanup(s.stop)
	return s
}

// URL is the server's base URL.
func (s *server) URL() string { return "http://" + s.addr }

func (s *server) start() {
	s.t.Helper()
	var ln net.Listener
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; {
		if ln, err = net.Listen("tcp", s.addr); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // the port of the previous instance is being released
	}
	if err != nil {
		s.t.Fatalf("listen %s: %v", s.addr, err)
	}
	s.addr = ln.Addr().String()
	s.app = s.build()
	s.srv = &http.Server{Handler: s.app.Handler(), ReadHeaderTimeout: 5 * time.Second}
	s.done = make(chan struct{})
	go func(srv *http.Server, done chan struct{}) {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.t.Errorf("serve: %v", err)
		}
	}(s.srv, s.done)
}

// stop shuts the app down (WebSockets close with 4200) and the listener.
func (s *server) stop() {
	if s.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.app.Shutdown(ctx)
	_ = s.srv.Shutdown(ctx)
	<-s.done
	s.srv = nil
}

// restart stops the server and starts a new instance of the app on the
// same port; between the two, the port refuses connections.
func (s *server) restart(whileDown func()) {
	s.t.Helper()
	s.stop()
	if whileDown != nil {
		whileDown()
	}
	s.start()
}

// testConfig is the plugin configuration of the apps under test: the
// defaults, nothing from the environment or a .env file.
func testConfig(t *testing.T) plugin.Config {
	t.Helper()
	cfg, err := plugin.FromLookup(func(k string) (string, bool) {
		if k == "BROADCAST_APP_SECRET" {
			return "browser-test-app-secret", true // one secret across restarts
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
