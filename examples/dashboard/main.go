// Command dashboard is the Velocity Broadcast live dashboard example: the
// MetricsUpdated event on admin.dashboard every second, with simulated
// business figures and the broadcaster's own live figures, shown with a
// live chart of the last five minutes.
//
//	go run ./examples/dashboard   # http://localhost:8090 (ADDR overrides)
//
// The plugin reads .env and the environment (plugin.LoadConfig). The app
// lives in package dashapp; this file only configures and serves it.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/velocitykode/velocity/examples/dashboard/dashapp"
	"github.com/velocitykode/velocity/plugin"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	cfg, err := plugin.LoadConfig()
	if err != nil {
		return err
	}
	app, err := dashapp.New(dashapp.Options{Config: cfg, Backfill: 5 * time.Minute})
	if err != nil {
		return err
	}
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = ":8090"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("dashboard: %w (set ADDR to another address)", err)
	}
	srv := &http.Server{Handler: app.Handler(), ReadHeaderTimeout: 10 * time.Second}
	slog.Info("dashboard: listening on http://" + localURL(ln.Addr().String()))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	stop, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	select {
	case err := <-errc:
		return err
	case <-stop.Done():
	}
	ctx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	_ = app.Shutdown(ctx)
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// localURL turns a listen address into host:port for the log line: a
// wildcard host (none, 0.0.0.0, ::) becomes localhost.
func localURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
